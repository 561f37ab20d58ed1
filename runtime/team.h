/* team.h - the ranks of one run: the world communicator, the nodes that share memory, and how
 * the ranks agree on an error so that none is left waiting.
 *
 * Every failure in jacobi is first local (one rank's status and err.h message). team_agree()
 * turns it into a decision all ranks share: the lowest failing rank prints its message, every
 * rank returns the same status, and the run ends together. This is the pattern of ParRes
 * Kernels' bail-out; MPI_Abort stays the last resort.
 */
#ifndef JACOBI_TEAM_H
#define JACOBI_TEAM_H

#include <mpi.h>
#include <stdbool.h>

struct team {
  MPI_Comm comm; /* a duplicate of the world communicator, errors returned not fatal */
  int rank, size;
  MPI_Comm node; /* the ranks of this rank's node: one shared-memory window each */
  int node_rank, node_size;
  int *node_of_rank; /* node id (world rank of its lowest rank) of every rank */
};

/* Duplicate `world` into a team; the nodes are not split yet (node == MPI_COMM_NULL).
 * Collective on world. Errors: ERR_FAILURE (allocation, MPI). */
int team_create(MPI_Comm world, struct team **out);

/* Split the team into nodes: the ranks that share memory (MPI_COMM_TYPE_SHARED), further cut
 * into groups of ranks_per_node consecutive ranks when it is > 0, so that one machine can play
 * several nodes. Collective on team->comm; returns an agreed status. */
int team_split_nodes(struct team *team, int ranks_per_node);

/* Free the team; accepts NULL and *team == NULL, sets *team to NULL. Collective. */
void team_destroy(struct team **team);

/* Agree on a status. Every rank passes its own; all return the largest (err.h orders them by
 * specificity). The lowest rank that failed prints its recorded message to stderr, prefixed
 * "jacobi: error: " (tagged "rank R" when not every rank failed, i.e. the failure is that
 * rank's alone), so the user reads one message. Collective on team->comm. */
int team_agree(const struct team *team, int status);

/* Print the recorded message and abort the whole job with `status` as exit code: for failures
 * after which the ranks can no longer meet in a collective. Not collective. */
_Noreturn void team_abort(const struct team *team, int status);

/* Record an MPI failure (ERR_FAILURE) with MPI's own text; returns ERR_FAILURE. */
int team_mpi_error(int mpi_code, const char *what);

/* MPI_Waitall(n, requests, MPI_STATUSES_IGNORE), in a form GCC 12 accepts with MPICH's mpi.h
 * (-Wstringop-overflow). Not collective; returns the MPI code. */
int team_wait_all(int n, MPI_Request *requests);

/* Wrap an MPI call: record and return ERR_FAILURE when it fails, naming the call as written and
 * giving MPI's own text for the code. Wrap the call itself, never a variable holding its code
 * (the message would name the variable); for a saved code use team_mpi_error. */
#define MPI_CHECK(call)                                                                            \
  do {                                                                                             \
    int mpi_check_code_ = (call);                                                                  \
    if (mpi_check_code_ != MPI_SUCCESS)                                                            \
      return team_mpi_error(mpi_check_code_, #call);                                               \
  } while (0)

#endif /* JACOBI_TEAM_H */
