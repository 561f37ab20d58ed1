/* model.h - a performance model of one Jacobi iteration, from the decomposition plan and a
 * description of the machine: what `jacobi --dry-run --ranks N` predicts for rank counts this
 * machine cannot run.
 *
 * Time per iteration = the slowest rank's
 *     points x 16 B / (bandwidth share x kernel efficiency)        (the sweep)
 *   + (local + shm halo points) x 16 B / bandwidth share           (halo copies: read + write)
 *   + shm neighbours x shm latency                                 (one notification each)
 *   + messages x net latency + p2p halo points x 8 B / net bandwidth
 * plus ceil(log2 P) x reduce latency / check_interval                (the convergence check).
 * A rank's bandwidth share is min(core bandwidth, node bandwidth / ranks on its node that own
 * points). The model is memory-bound by construction: grids that fit in cache run faster than it
 * says, and it knows nothing of imbalance other than the plan's (noise, a slow node).
 *
 * Not for: measuring anything (scripts/bench.sh calibrates the machine figures and compares the
 * model with measurements). Pure: no MPI, no I/O. Not collective.
 */
#ifndef JACOBI_MODEL_H
#define JACOBI_MODEL_H

#include "decomp/decomp.h"

#include <stdint.h>

enum { MODEL_BYTES_PER_UPDATE = 16 }; /* one read and one write of a double */

struct model_machine {
  double core_bandwidth;    /* B/s one rank streams (STREAM copy, 1 rank) */
  double node_bandwidth;    /* B/s all ranks of a node stream together */
  double kernel_efficiency; /* fraction of bandwidth / 16 B the sweep reaches out of cache */
  double shm_latency;       /* s to notify one on-node neighbour */
  double net_latency;       /* s per message between nodes */
  double net_bandwidth;     /* B/s of one rank's messages between nodes */
  double reduce_latency;    /* s per stage of an allreduce (log2 P stages) */
};

struct model_prediction {
  double seconds;         /* per iteration: the slowest rank plus the reduction */
  double compute_seconds; /* the slowest rank's parts */
  double halo_seconds;
  double reduce_seconds;
  double mlups;      /* interior points / seconds / 1e6 */
  double efficiency; /* time on 1 rank / (P x time on P ranks) */
  int slowest_rank;
  int idle_ranks;   /* ranks that own no point */
  double imbalance; /* the most points on a rank / the mean */
};

/* Predict one iteration of layout `l` with ranks placed on nodes by node_of_rank (NULL: one
 * node; else node_of_rank[r] in [0, nranks) names rank r's node), halos as halo.mode = "p2p" if
 * force_p2p, a convergence check every check_interval iterations. Returns ERR_OK, or
 * ERR_FAILURE (out of memory, message in err.h's record). */
int model_predict(const struct decomp_layout *l, const int *node_of_rank, bool force_p2p,
                  int64_t check_interval, const struct model_machine *m,
                  struct model_prediction *out);

#endif /* JACOBI_MODEL_H */
