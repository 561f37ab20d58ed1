/* team.c - the ranks of one run and their agreement on errors; see team.h. */
#include "runtime/team.h"

#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>

int team_mpi_error(int mpi_code, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(mpi_code, text, &len) != MPI_SUCCESS)
    snprintf(text, sizeof text, "MPI error %d", mpi_code);
  return err_set(ERR_FAILURE, "%s failed: %s", what, text);
}

int team_create(MPI_Comm world, struct team **out) {
  *out = NULL;
  struct team *team = calloc(1, sizeof *team);
  if (team == NULL)
    return err_set(ERR_FAILURE, "out of memory creating the team");
  team->comm = MPI_COMM_NULL;
  team->node = MPI_COMM_NULL;
  int code = MPI_Comm_dup(world, &team->comm);
  if (code != MPI_SUCCESS) {
    free(team);
    return team_mpi_error(code, "MPI_Comm_dup");
  }
  /* Errors come back as codes, so a failing rank can still take part in team_agree(). */
  MPI_Comm_set_errhandler(team->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(team->comm, &team->rank);
  MPI_Comm_size(team->comm, &team->size);
  team->node_of_rank = calloc((size_t)team->size, sizeof *team->node_of_rank);
  int status = team->node_of_rank ? ERR_OK : err_set(ERR_FAILURE, "out of memory (node map)");
  status = team_agree(team, status);
  if (status != ERR_OK) {
    team_destroy(&team);
    return status;
  }
  *out = team;
  return ERR_OK;
}

static int split_nodes(struct team *team, int ranks_per_node) {
  MPI_Comm shared = MPI_COMM_NULL;
  MPI_CHECK(
      MPI_Comm_split_type(team->comm, MPI_COMM_TYPE_SHARED, team->rank, MPI_INFO_NULL, &shared));
  if (ranks_per_node > 0) {
    int shared_rank = 0;
    MPI_Comm_rank(shared, &shared_rank);
    int code = MPI_Comm_split(shared, shared_rank / ranks_per_node, shared_rank, &team->node);
    MPI_Comm_free(&shared);
    if (code != MPI_SUCCESS) /* named here: MPI_CHECK(code) would print "code failed" */
      return team_mpi_error(code, "MPI_Comm_split (halo.ranks_per_node)");
  } else {
    team->node = shared;
  }
  MPI_Comm_set_errhandler(team->node, MPI_ERRORS_RETURN);
  MPI_Comm_rank(team->node, &team->node_rank);
  MPI_Comm_size(team->node, &team->node_size);
  /* A node's id is the world rank of its first rank: the same on every rank, no names. */
  int node_id = team->rank;
  MPI_CHECK(MPI_Bcast(&node_id, 1, MPI_INT, 0, team->node));
  MPI_CHECK(MPI_Allgather(&node_id, 1, MPI_INT, team->node_of_rank, 1, MPI_INT, team->comm));
  return ERR_OK;
}

int team_split_nodes(struct team *team, int ranks_per_node) {
  return team_agree(team, split_nodes(team, ranks_per_node));
}

void team_destroy(struct team **team) {
  if (team == NULL || *team == NULL)
    return;
  struct team *t = *team;
  if (t->node != MPI_COMM_NULL)
    MPI_Comm_free(&t->node);
  if (t->comm != MPI_COMM_NULL)
    MPI_Comm_free(&t->comm);
  free(t->node_of_rank);
  free(t);
  *team = NULL;
}

int team_agree(const struct team *team, int status) {
  /* One allreduce carries both facts: the largest status, and (negated) the lowest failing
   * rank whose failure has not been printed yet (failing ranks whose failure has, next; a
   * status agreed again on its way up is not reported twice); a second small one counts the
   * failing ranks so the message says whose it is. */
  int key = -3 * team->size; /* no failure */
  if (status != ERR_OK)      /* a message to print, or only a status passed on */
    key = err_status() != ERR_OK && !err_reported() ? -team->rank : -(team->size + team->rank);
  int mine[2] = {status, key};
  int agreed[2] = {status, mine[1]};
  int code = MPI_Allreduce(mine, agreed, 2, MPI_INT, MPI_MAX, team->comm);
  if (code != MPI_SUCCESS) {
    team_mpi_error(code, "MPI_Allreduce (agreeing on an error)");
    team_abort(team, ERR_FAILURE);
  }
  if (agreed[0] == ERR_OK)
    return ERR_OK;
  int failed = status != ERR_OK ? 1 : 0, nfailed = 0;
  MPI_Allreduce(&failed, &nfailed, 1, MPI_INT, MPI_SUM, team->comm);
  if (-agreed[1] == team->rank) { /* a failure nobody has printed: this rank's, the lowest */
    if (nfailed == team->size || team->size == 1)
      fprintf(stderr, "jacobi: error: %s\n", err_message());
    else
      fprintf(stderr, "jacobi: rank %d: error: %s\n", team->rank, err_message());
    fflush(stderr);
  }
  err_mark_reported(); /* every rank: whatever it records next is news */
  return agreed[0];
}

_Noreturn void team_abort(const struct team *team, int status) {
  int rank = team ? team->rank : 0;
  fprintf(stderr, "jacobi: rank %d: fatal: %s\n", rank, err_message());
  fflush(stderr);
  MPI_Abort(team ? team->comm : MPI_COMM_WORLD, status);
  abort(); /* MPI_Abort does not return; this keeps _Noreturn honest */
}

/* MPICH defines MPI_STATUSES_IGNORE as the address
 * (MPI_Status *)1 and declares the statuses argument as an array of n, so GCC 12 warns
 * (-Wstringop-overflow) that the call writes n statuses into a region of size 0; it writes none.
 * The warning is silenced here, for this call only, rather than in the build. */
int team_wait_all(int n, MPI_Request *requests) {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
  int code = MPI_Waitall(n, requests, MPI_STATUSES_IGNORE);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  return code;
}
