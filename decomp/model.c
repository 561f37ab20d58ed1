/* model.c - the performance model; see model.h. */
#include "decomp/model.h"

#include "common/err.h"

#include <stdlib.h>

/* The time of a sweep of `points` at bandwidth share `share` (B/s). */
static double sweep_seconds(double points, double share, const struct model_machine *m) {
  return points * MODEL_BYTES_PER_UPDATE / (share * m->kernel_efficiency);
}

int model_predict(const struct decomp_layout *l, const int *node_of_rank, bool force_p2p,
                  int64_t check_interval, const struct model_machine *m,
                  struct model_prediction *out) {
  *out = (struct model_prediction){.slowest_rank = 0};
  int p = l->nranks;
  /* Ranks that own points, per node: they share the node's bandwidth. */
  int *active = calloc((size_t)p, sizeof *active);
  struct decomp_rank_plan *plans = malloc((size_t)p * sizeof *plans);
  if (active == NULL || plans == NULL) {
    free(active);
    free(plans);
    return err_set(ERR_FAILURE, "out of memory for the model of %d ranks", p);
  }
  int64_t most = 0;
  for (int r = 0; r < p; r++) {
    decomp_plan_rank(l, r, node_of_rank, force_p2p, &plans[r]);
    if (plans[r].points > 0)
      active[node_of_rank != NULL ? node_of_rank[r] : 0]++;
    else
      out->idle_ranks++;
    most = plans[r].points > most ? plans[r].points : most;
  }
  out->imbalance = (double)most * p / ((double)l->nx * (double)l->ny);

  double slowest = -1.0;
  for (int r = 0; r < p; r++) {
    const struct decomp_rank_plan *plan = &plans[r];
    int sharing = active[node_of_rank != NULL ? node_of_rank[r] : 0];
    double share = m->core_bandwidth;
    if (sharing > 0 && m->node_bandwidth / sharing < share)
      share = m->node_bandwidth / sharing;
    double compute = sweep_seconds((double)plan->points, share, m);
    double copied = (double)(plan->halo_points_local + plan->halo_points_shm);
    double halo = copied * 2 * sizeof(double) / share + plan->shm_neighbours * m->shm_latency +
                  plan->messages * m->net_latency +
                  (double)plan->halo_points_p2p * sizeof(double) / m->net_bandwidth;
    if (compute + halo > slowest) {
      slowest = compute + halo;
      out->compute_seconds = compute;
      out->halo_seconds = halo;
      out->slowest_rank = r;
    }
  }
  free(plans);
  free(active);

  int stages = 0;
  while ((1LL << stages) < p)
    stages++; /* ceil(log2 p) */
  out->reduce_seconds = stages * m->reduce_latency / (double)check_interval;
  out->seconds = slowest + out->reduce_seconds;
  double points = (double)l->nx * (double)l->ny;
  out->mlups = points / out->seconds / 1e6;
  out->efficiency = sweep_seconds(points, m->core_bandwidth, m) / (p * out->seconds);
  return ERR_OK;
}
