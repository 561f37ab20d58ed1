/* jacobi - steady-state temperature of a heated plate.
 *
 * Solves the Laplace equation  d2T/dx2 + d2T/dy2 = 0  on a rectangle with fixed (Dirichlet)
 * temperatures on its four edges, by Jacobi iteration of the 5-point stencil on an
 * (ny + 2) x (nx + 2) grid, distributed over MPI ranks by a block, cyclic or block-cyclic
 * decomposition. The result is bit for bit the same on any decomposition.
 *
 * usage:  mpirun -n 4 jacobi configs/plate.toml
 *         jacobi --dry-run --ranks 1024 --set decomposition.partitioner=cyclic configs/plate.toml
 *
 * The program reads as its data path: configure -> plan -> allocate -> solve -> write -> finish.
 * A run may continue from a file (initial.from_file), write checkpoints, and stop on SIGTERM or
 * SIGUSR1 with a checkpoint and exit code 4 (docs/guide.md, "Output, checkpoints and restart").
 * Every step ends with the ranks agreeing on its status (team_agree), so a failure anywhere stops
 * every rank with one message and the documented exit code.
 */
#include "common/err.h"
#include "decomp/decomp.h"
#include "decomp/model.h"
#include "io/cfg.h"
#include "io/cli.h"
#include "io/output.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"
#include "solver/bound/comparison.h"
#include "solver/bound/estimate.h"
#include "solver/kernel/tune.h"
#include "solver/method/method.h"
#include "solver/plate.h"
#include "solver/report.h"
#include "solver/solve.h"
#include "solver/transient.h"

#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct run {
  struct team *team;
  struct cli cli;
  struct cfg *cfg;
  const struct method_ops *method; /* solver.method's (method.h) */
  struct decomp_layout layout;
  struct plate plate; /* the boundary ring, sources and regions, point by point */
  struct field *field;
  struct halo *halo;
  int64_t first_iteration;        /* the iterations of initial.from_file's field, else 0 */
  struct estimate_model estimate; /* how far an iterate is from T* (estimate.h) */
  char *checkpoint_path;
  struct solve_result result;
  double write_seconds;         /* the final write (or the signal's checkpoint) on this rank */
  bool finished;                /* --help, --version or --dry-run: nothing to solve */
  char kernel[768];             /* the kernel variants chosen (tune_describe), for the summary */
  struct estimate_stall stall;  /* a target out of reach, as the file continued had seen it */
  struct solve_history history; /* initial.from_file's convergence history (rows 0: none) */
  /* where this rank's process time went (report.h's phases), for --verbose's summary */
  double phase[REPORT_PHASES];
};

static int ignore_write_signals(void);

/* A monotonic clock that runs before MPI_Init (MPI_Wtime does not), in seconds. */
static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The seconds since *t, and *t moved to now. */
static double lap(double *t) {
  double now = seconds_now(), since = now - *t;
  *t = now;
  return since;
}
static int check_stdout(const struct team *team);
static int configure(struct run *run, int argc, char **argv);
static int plan(struct run *run);
static int allocate(struct run *run);
static int solve(struct run *run);
static int write_result(struct run *run);
static int finish(struct run *run, int status);
static int march(struct run *run);

int main(int argc, char **argv) {
  /* Before MPI_Init: Open MPI's start-up writes files of its own (PMIx's shared store), and
   * under a small `ulimit -f` SIGXFSZ killed the rank there (exit 153); ignored, MPI_Init
   * reports the failure itself. */
  int ignored = ignore_write_signals();
  double t = seconds_now();
  MPI_Init(&argc, &argv);
  struct run run = {0};
  run.phase[REPORT_PHASE_MPI] = lap(&t);
  int status = team_create(MPI_COMM_WORLD, &run.team);
  if (status == ERR_OK)
    status = team_agree(run.team, ignored);
  if (status == ERR_OK)
    status = configure(&run, argc, argv);
  if (status == ERR_OK && !run.finished)
    status = plan(&run);
  run.phase[REPORT_PHASE_CONFIGURE] = lap(&t);
  if (status == ERR_OK && !run.finished)
    status = allocate(&run);
  run.phase[REPORT_PHASE_ALLOCATE] = lap(&t);
  if (status == ERR_OK && !run.finished) /* [time]: the series instead of the steady state */
    status = run.cfg->transient ? march(&run) : solve(&run);
  run.phase[REPORT_PHASE_SOLVE] = lap(&t);
  if (status == ERR_OK && !run.finished && !run.cfg->transient)
    status = write_result(&run);
  if (status == ERR_OK)
    status = check_stdout(run.team);
  int exit_code = finish(&run, status);
  MPI_Finalize();
  return exit_code;
}

/* A summary written to a closed pipe (`jacobi ... | head -1`) would kill the process with
 * SIGPIPE, before the result is written if it came first; ignored, the write fails with EPIPE
 * and check_stdout reports it, after the result file is safe. Likewise SIGXFSZ: a write beyond
 * the file-size limit (`ulimit -f`, RLIMIT_FSIZE) would kill the writing rank, and the job with
 * it, leaving its temporary behind; ignored, the write fails with EFBIG ("File too large") and
 * takes the path of any failed write (exit 1, the temporary removed). The start-up check
 * (io_check_output) refuses a limit below the files' size before the solve. */
static int ignore_write_signals(void) {
  struct sigaction sa = {0};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGPIPE, &sa, NULL) != 0)
    return err_errno(ERR_FAILURE, "ignoring SIGPIPE");
  if (sigaction(SIGXFSZ, &sa, NULL) != 0)
    return err_errno(ERR_FAILURE, "ignoring SIGXFSZ");
  return ERR_OK;
}

/* Output lost silently is a failure: a summary, plan or help text that could not be written
 * (a full disk, /dev/full, a closed pipe) is exit 1 with a message on stderr. Rank 0 writes
 * stdout; its verdict is everyone's. Collective. */
static int check_stdout(const struct team *team) {
  int status = ERR_OK;
  if (team->rank == 0) {
    errno = 0;
    bool flush_failed = fflush(stdout) != 0;
    if (flush_failed || ferror(stdout))
      status = flush_failed && errno != 0
                   ? err_errno(ERR_FAILURE, "writing to standard output")
                   : err_set(ERR_FAILURE, "writing to standard output failed (is it full or "
                                          "closed?)");
  }
  MPI_CHECK(MPI_Bcast(&status, 1, MPI_INT, 0, team->comm)); /* rank 0's verdict, untagged */
  return team_agree(team, status);
}

/* Rank 0 reads the file and broadcasts its bytes, so a file visible only on the launch node
 * still works, and every rank parses the same text to the same outcome. */
static int read_config_text(const struct team *team, const char *path, char **text, size_t *len) {
  long long header[2] = {ERR_OK, 0}; /* status, length */
  if (team->rank == 0) {
    header[0] = cfg_read_file(path, text, len);
    header[1] = header[0] == ERR_OK ? (long long)*len : 0;
  }
  MPI_CHECK(MPI_Bcast(header, 2, MPI_LONG_LONG, 0, team->comm));
  if (header[0] != ERR_OK)
    return (int)header[0]; /* rank 0 holds the message; the others agree without one */
  if (team->rank != 0) {
    *len = (size_t)header[1];
    *text = malloc(*len + 1);
    if (*text == NULL)
      team_abort(team, err_set(ERR_FAILURE, "out of memory for the config text"));
  }
  MPI_CHECK(MPI_Bcast(*text, (int)*len, MPI_CHAR, 0, team->comm));
  (*text)[*len] = '\0';
  return ERR_OK;
}

static int configure(struct run *run, int argc, char **argv) {
  struct team *team = run->team;
  int status = team_agree(team, cli_parse(argc, argv, &run->cli));
  if (status != ERR_OK) {
    if (team->rank == 0)
      cli_usage(stderr);
    return status;
  }
  if (run->cli.help || run->cli.version) {
    if (team->rank == 0 && run->cli.help)
      cli_help(stdout);
    else if (team->rank == 0)
      printf("jacobi %s\n", JACOBI_VERSION);
    run->finished = true;
    return ERR_OK;
  }
  char *text = NULL;
  size_t len = 0;
  status = read_config_text(team, run->cli.config_path, &text, &len);
  if (status == ERR_OK)
    status = cfg_create(text, len, run->cli.config_path, run->cli.sets, run->cli.nsets, &run->cfg);
  free(text);
  if (status == ERR_OK && (run->method = method_find(cfg_method_name(run->cfg->method))) == NULL)
    status = err_set(ERR_FAILURE, "no method named %s", cfg_method_name(run->cfg->method));
  return team_agree(team, status);
}

static enum decomp_kind decomp_kind_of(enum cfg_partitioner p) {
  switch (p) {
  case CFG_CYCLIC:
    return DECOMP_CYCLIC;
  case CFG_BLOCK_CYCLIC:
    return DECOMP_BLOCK_CYCLIC;
  default:
    return DECOMP_BLOCK;
  }
}

/* The runtime's halo mode for the configured one: the runtime sits below the configuration
 * (docs/design.md) and has its own enum. */
static enum halo_mode halo_mode_of(enum cfg_halo_mode m) {
  static const enum halo_mode modes[] = {
      [CFG_HALO_AUTO] = HALO_AUTO, [CFG_HALO_SHM] = HALO_SHM, [CFG_HALO_P2P] = HALO_P2P};
  return modes[m];
}

/* The node of each of nranks ranks when ranks_per_node consecutive ranks share a node (0: one
 * node). Caller frees. */
static int *modelled_nodes(int nranks, int64_t ranks_per_node) {
  int *node = malloc((size_t)nranks * sizeof *node);
  for (int r = 0; node != NULL && r < nranks; r++)
    node[r] = ranks_per_node > 0 ? (int)(r / ranks_per_node * ranks_per_node) : 0;
  return node;
}

static int layout(const struct cfg *cfg, int nranks, struct decomp_layout *out) {
  int dims[2] = {cfg->process_grid[0], cfg->process_grid[1]};
  if (decomp_dims_fill(nranks, dims) != ERR_OK) {
    err_prefix(cfg_origin(cfg, "decomposition.process_grid"));
    return ERR_CONFIG;
  }
  if (decomp_layout_init(out, cfg->nx, cfg->ny, nranks, dims, decomp_kind_of(cfg->partitioner),
                         cfg->block_size) != ERR_OK) {
    err_prefix(cfg->source_name);
    return ERR_CONFIG;
  }
  return ERR_OK;
}

/* The performance model's prediction (decomp/model.h) for each partitioner, on the layout's
 * grid, process grid and nodes; the configured one is marked. Rank 0 only. */
static struct model_machine machine_of(const struct cfg *cfg) {
  return (struct model_machine){.core_bandwidth = cfg->core_bandwidth_gbs * 1e9,
                                .node_bandwidth = cfg->node_bandwidth_gbs * 1e9,
                                .kernel_efficiency = cfg->kernel_efficiency,
                                .shm_latency = cfg->shm_latency_us * 1e-6,
                                .net_latency = cfg->net_latency_us * 1e-6,
                                .net_bandwidth = cfg->net_bandwidth_gbs * 1e9,
                                .reduce_latency = cfg->reduce_latency_us * 1e-6};
}

static int print_predictions(const struct cfg *cfg, const struct decomp_layout *configured,
                             const int *nodes) {
  const struct model_machine machine = machine_of(cfg);
  struct variant {
    enum cfg_partitioner partitioner;
    int64_t block_size;
  } variants[6] = {{CFG_BLOCK, 1},
                   {CFG_BLOCK_CYCLIC, 4},
                   {CFG_BLOCK_CYCLIC, 16},
                   {CFG_BLOCK_CYCLIC, 64},
                   {CFG_CYCLIC, 1}};
  int nvariants = 5;
  if (cfg->partitioner == CFG_BLOCK_CYCLIC && cfg->block_size != 4 && cfg->block_size != 16 &&
      cfg->block_size != 64)
    variants[nvariants++] = (struct variant){CFG_BLOCK_CYCLIC, cfg->block_size};
  int dims[2] = {configured->prows, configured->pcols};
  bool p2p = cfg->halo_mode == CFG_HALO_P2P;

  printf("\n# predicted time per iteration: performance model ([machine] keys), check every %lld\n"
         "# memory-bound: a grid that fits in cache runs faster than this\n",
         (long long)cfg->check_interval);
  if (cfg->temporal_block > 1)
    printf("# solver.temporal_block = %lld is not modelled: the plan and the model count one-deep\n"
           "# halos every iteration and one pass through memory per sweep; the run exchanges\n"
           "# halos %lld deep every %lld iterations and computes the overlapped points too\n",
           (long long)cfg->temporal_block, (long long)cfg->temporal_block,
           (long long)cfg->temporal_block);
  printf("%-14s %6s %12s %12s %12s %12s %10s %10s %8s %6s %9s\n", "partitioner", "block", "us/iter",
         "compute us", "halo us", "reduce us", "MLUP/s", "efficiency", "slowest", "idle",
         "imbalance");
  /* The fastest layout that keeps every rank busy: one that leaves ranks idle may be predicted
   * faster on one node (the busy ranks share its bandwidth), but its ranks are wasted. */
  struct model_prediction predicted[6];
  bool valid[6] = {false};
  int fastest = -1;
  for (int v = 0; v < nvariants; v++) {
    struct decomp_layout l;
    if (decomp_layout_init(&l, cfg->nx, cfg->ny, configured->nranks, dims,
                           decomp_kind_of(variants[v].partitioner),
                           variants[v].block_size) != ERR_OK)
      continue; /* e.g. a block larger than allowed: nothing to predict */
    CHECK(model_predict(&l, nodes, p2p, cfg->check_interval, &machine, &predicted[v]));
    valid[v] = true;
    if (predicted[v].idle_ranks == 0 &&
        (fastest < 0 || predicted[v].seconds < predicted[fastest].seconds))
      fastest = v;
  }
  for (int v = 0; v < nvariants; v++) {
    if (!valid[v])
      continue;
    const struct model_prediction p = predicted[v];
    enum cfg_partitioner partitioner = variants[v].partitioner;
    bool block_cyclic = partitioner == CFG_BLOCK_CYCLIC;
    bool chosen = partitioner == cfg->partitioner &&
                  (!block_cyclic || variants[v].block_size == cfg->block_size);
    char block[24] = "-";
    if (block_cyclic)
      snprintf(block, sizeof block, "%lld", (long long)variants[v].block_size);
    printf("%-14s %6s %12.2f %12.2f %12.2f %12.2f %10.1f %10.3f %8d %6d %9.2f%s%s%s\n",
           cfg_partitioner_name(partitioner), block, p.seconds * 1e6, p.compute_seconds * 1e6,
           p.halo_seconds * 1e6, p.reduce_seconds * 1e6, p.mlups, p.efficiency, p.slowest_rank,
           p.idle_ranks, p.imbalance, chosen ? "  <- configured" : "",
           v == fastest ? "  <- fastest" : "",
           p.idle_ranks > 0 ? "  (ranks idle: not ranked)" : "");
  }
  if (fastest < 0)
    printf("# every layout leaves ranks idle: fewer ranks, or a larger grid, would use them all\n");
  printf(
      "# us/iter: predicted time of one iteration, the slowest rank's compute and halo plus the\n"
      "#   reduction (one every check, spread over the iterations between checks)\n"
      "# compute us, halo us: the slowest rank's sweep and halo exchange; reduce us: the\n"
      "#   convergence check's allreduce; MLUP/s: million point updates per second in all\n"
      "# efficiency: the time on 1 rank / (ranks x this time): 1 is perfect scaling\n"
      "# slowest: the rank that sets the pace; idle: ranks that own no point; imbalance:\n"
      "#   the most points on a rank / the mean (1 is even)\n"
      "# fastest: the quickest layout that keeps every rank busy\n");
  return ERR_OK;
}

static int dry_run(struct run *run) {
  const struct cfg *cfg = run->cfg;
  int nranks = run->cli.ranks > 0 ? run->cli.ranks : run->team->size;
  struct decomp_layout l;
  int status = layout(cfg, nranks, &l);
  int *nodes = NULL;
  if (status == ERR_OK && (nodes = modelled_nodes(nranks, cfg->ranks_per_node)) == NULL)
    status = err_set(ERR_FAILURE, "out of memory for the plan of %d ranks", nranks);
  status = team_agree(run->team, status);
  if (status == ERR_OK && run->team->rank == 0) {
    printf("# resolved configuration\n");
    cfg_print(cfg, stdout);
    printf("\n# decomposition plan for %d rank%s%s\n", nranks, nranks == 1 ? "" : "s",
           cfg->ranks_per_node > 0 ? "" : " on one node");
    decomp_plan_print(&l, nodes, cfg->halo_mode == CFG_HALO_P2P, stdout);
  }
  if (status == ERR_OK)
    status =
        team_agree(run->team, run->team->rank == 0 ? print_predictions(cfg, &l, nodes) : ERR_OK);
  if (status == ERR_OK && run->method->print_plan != NULL) {
    const struct model_machine machine = machine_of(cfg);
    status = team_agree(run->team, run->team->rank == 0
                                       ? run->method->print_plan(cfg, &l, nodes, &machine)
                                       : ERR_OK);
  }
  free(nodes);
  run->finished = true;
  return status;
}

static int plan(struct run *run) {
  if (run->cli.dry_run)
    return dry_run(run);
  CHECK(team_split_nodes(run->team, (int)run->cfg->ranks_per_node));
  CHECK(team_agree(run->team, layout(run->cfg, run->team->size, &run->layout)));
  /* A plate with sources or regions: coef and rhs (2 buffers), q (1), the regions' numbers
   * (1/8), and the heat flows' copy of a buffer at the end (1); and the method's own. */
  bool general = cfg_general(run->cfg);
  struct method_memory m = {0};
  if (run->method->memory != NULL)
    run->method->memory(run->cfg, &run->layout, run->team->rank, general, &m);
  double extra = m.buffers + (general ? 3.0 + 1.0 / 8.0 + 1.0 : 0.0), extra_bytes = m.bytes;
  if (run->cfg->transient) { /* the stepper's five buffers (transient.c), and its multigrid */
    extra += 5.0;
    if (run->cfg->scheme != CFG_SCHEME_EXPLICIT &&
        (!cfg_is_set(run->cfg, "solver.method") || run->cfg->method == CFG_METHOD_MULTIGRID) &&
        run->method != &method_multigrid) {
      struct method_memory mg = {0};
      method_multigrid.memory(run->cfg, &run->layout, run->team->rank, general, &mg);
      extra += mg.buffers;
      extra_bytes += mg.bytes;
    }
  }
  if (field_check_memory(&run->layout, run->team, run->cfg->temporal_block, extra, extra_bytes) !=
      ERR_OK) {
    char blame[640];
    int n =
        snprintf(blame, sizeof blame, "%s: grid.nx x grid.ny = %lld x %lld",
                 cfg_origin(run->cfg, "grid.nx"), (long long)run->cfg->nx, (long long)run->cfg->ny);
    if (run->cfg->temporal_block > 1 && n > 0 && (size_t)n < sizeof blame)
      snprintf(blame + n, sizeof blame - (size_t)n, " with halo rings %lld deep (%s)",
               (long long)run->cfg->temporal_block, cfg_origin(run->cfg, "solver.temporal_block"));
    err_prefix(blame);
  }
  CHECK(team_agree(run->team, err_status()));
  CHECK(io_check_output(run->cfg, run->team));
  return halo_check_mode(&run->layout, run->team, halo_mode_of(run->cfg->halo_mode),
                         run->cfg->temporal_block, cfg_origin(run->cfg, "halo.mode"));
}

/* initial.from_file's convergence history, which this run's goes on from (solve.h); a file
 * without one (an older version) starts it afresh. Collective. */
static int read_history(struct run *run) {
  struct solve_history *history = &run->history;
  *history = (struct solve_history){.stride = 1};
  /* A file whose count this run starts afresh (another method's unit, io_read) holds a history
   * in that unit: this run's starts afresh too. */
  if (run->first_iteration == 0)
    return ERR_OK;
  CHECK(io_read_history(run->cfg->from_file, run->cfg, run->team, SOLVE_HISTORY_ROWS + 1,
                        history->values, &history->rows, &history->stride, &history->checks));
  /* the last row is the last check's, kept beyond the stride (solve.h): pending again */
  if (history->rows > 0 && (history->checks - 1) % history->stride != 0) {
    history->rows--;
    memcpy(history->last, &history->values[history->rows * SOLVE_HISTORY_COLUMNS],
           sizeof history->last);
    history->pending = true;
  }
  int64_t last =
      history->rows > 0 ? (int64_t)history->values[(history->rows - 1) * SOLVE_HISTORY_COLUMNS] : 0;
  if (history->rows > SOLVE_HISTORY_ROWS || (history->rows > 0 && last > run->first_iteration))
    return team_agree(run->team,
                      err_set(ERR_CONFIG,
                              "%s: initial.from_file \"%s\": /history holds %lld rows up to "
                              "iteration %lld, expected at most %d up to iterations = %lld",
                              cfg_origin(run->cfg, "initial.from_file"), run->cfg->from_file,
                              (long long)history->rows, (long long)last, SOLVE_HISTORY_ROWS,
                              (long long)run->first_iteration));
  return ERR_OK;
}

/* Allocate the field and fill it with the plate (plate.h), from initial.interior or continued
 * from initial.from_file. */
static int allocate(struct run *run) {
  const struct cfg *cfg = run->cfg;
  struct plate *plate = &run->plate;
  const struct field_boundary *boundary = &plate->boundary;
  CHECK(plate_create(cfg, run->team, plate));
  run->checkpoint_path = io_checkpoint_path(cfg->output_path);
  CHECK(team_agree(run->team, run->checkpoint_path != NULL
                                  ? ERR_OK
                                  : err_set(ERR_FAILURE, "out of memory for a file name")));
  /* A temporal block of K sweeps reads rings K deep: one exchange per block. */
  CHECK(field_create(&run->layout, run->team, boundary, 0.0, cfg->temporal_block, &run->field));
  CHECK(plate_fill(plate, run->field, run->team));
  /* |T*| <= edge_max bounds what rounding can hide in a sweep's change; the general update
   * rounds once more (its multiply and add): counted by doubling it. */
  double edge_max = fmax(fabs(plate->answer_lo), fabs(plate->answer_hi));
  if (plate->general)
    edge_max *= 2;
  /* Only a contraction in the max norm carries its starting bound. */
  estimate_init(&run->estimate, cfg->nx, cfg->ny, edge_max, !run->method->contraction);
  estimate_answer(&run->estimate, plate->answer_lo, plate->answer_hi);
  CHECK(halo_create(run->field, run->team, halo_mode_of(cfg->halo_mode), &run->halo));
  /* the operator's rings (a faces plate's conductances come from its k rings) */
  CHECK(plate_fill_rings(plate, run->field, run->halo, run->team));
  if (field_faces(run->field)) {
    /* The faces operator's ||A^-1|| (comparison.h), once per plate before the solve: the
     * parabola of a held, uniform plate does not apply. */
    struct comparison_bound b;
    CHECK(comparison_bound(run->field, run->halo, run->team, comparison_sweeps(cfg->nx, cfg->ny),
                           &b));
    estimate_faces(&run->estimate, b.inverse_norm, b.diag_max, b.load_scale);
    if (cfg->target_error > 0 && !isfinite(b.inverse_norm))
      return team_agree(run->team,
                        err_set(ERR_CONFIG,
                                "%s: solver.target_error = %g cannot be certified on this plate: "
                                "%lld sweeps found no bound on ||A^-1|| (no face exchange to "
                                "make it diagonally dominant; docs/numerics.md, \"||A^-1|| for "
                                "the faces operator\"); use solver.tolerance",
                                cfg_origin(cfg, "solver.target_error"), cfg->target_error,
                                (long long)comparison_sweeps(cfg->nx, cfg->ny)));
  }
  /* A target below what rounding alone leaves in the bound (its value for a change of 0) can
   * never be met: refused, rather than iterating to max_iterations. */
  /* (a faces plate whose loads leave T* unbounded above or below has no B before the solve:
   * its rounding is then taken from each measured iterate, and nothing is refused here) */
  double floor = estimate_bound(&run->estimate, 0.0, false, 0);
  if (!isfinite(run->estimate.edge_max))
    floor = 0.0;
  if (cfg->target_error > 0 && cfg->target_error < floor)
    return team_agree(run->team,
                      err_set(ERR_CONFIG,
                              "%s: solver.target_error = %g is below what the bound can certify "
                              "on this plate: rounding alone leaves %.3g (it grows with the "
                              "grid's size and with |T|, up to %.3g here); ask for at least "
                              "that",
                              cfg_origin(cfg, "solver.target_error"), cfg->target_error, floor,
                              fmax(fabs(plate->answer_lo), fabs(plate->answer_hi))));
  if (cfg->from_file[0] != '\0' && !cfg->transient) { /* a series' checkpoint: transient.h */
    CHECK(io_read(cfg->from_file, run->field, boundary, cfg, run->team, &run->first_iteration));
    plate_impose(plate, run->field, run->field->current); /* the file may hold another plate */
    /* The file's own figures are the reference; a Chebyshev recurrence begins there. */
    struct estimate_model *m = &run->estimate;
    /* The file's estimate seeds the progress line's model; its bound is not taken on trust:
     * a guarantee rests only on what this run measures. */
    CHECK(io_read_estimate(cfg->from_file, run->team, &m->ref_estimate));
    m->ref_iteration = m->estimate_iteration = m->chebyshev_start = run->first_iteration;
    if (run->method->keeps_previous) { /* its own checkpoint goes on exactly */
      int64_t start = -1;
      CHECK(io_read_previous(cfg->from_file, run->field, boundary, cfg, run->team,
                             run->first_iteration, &start));
      plate_impose(plate, run->field, 1 - run->field->current);
      if (start >= 0)
        m->chebyshev_start = start;
    }
    if (!(m->ref_estimate >= 0))
      m->ref_estimate = INFINITY;
    run->stall = (struct estimate_stall){INFINITY, run->first_iteration};
    CHECK(io_read_stall(cfg->from_file, cfg, run->team, run->first_iteration, floor,
                        &run->stall.best, &run->stall.at));
    CHECK(read_history(run));
  } else {
    run->stall = (struct estimate_stall){INFINITY, 0};
    estimate_reference_range(&run->estimate, 0, plate->start_lo, plate->start_hi, plate->answer_lo,
                             plate->answer_hi);
  }
  return ERR_OK;
}

/* Whether the run watches for a target out of reach (estimate_stalled), and so writes what it
 * has seen into its files. */
static bool tracks_stall(const struct run *run) {
  return run->cfg->target_error > 0 && run->method->stall_window != NULL;
}

/* The run's record for a file (output.h) of the iterate in state s: assembled here alone, for
 * a checkpoint and for the result. */
static struct io_state record_of(const struct run *run, const struct solve_state *s,
                                 bool converged) {
  return (struct io_state){.iterations = s->iteration,
                           .change = s->change,
                           .converged = converged,
                           .error_estimate = s->error_estimate,
                           .error_bound = s->error_bound,
                           .chebyshev_start = s->method.chebyshev_start,
                           .previous = s->method.previous_valid,
                           .stall_best = s->stall.best,
                           .stall_at = tracks_stall(run) ? s->stall.at : -1,
                           .conductivity =
                               run->plate.conductivity_varies ? run->plate.conductivity : NULL};
}

/* solve_params.checkpoint: the current iterate to the checkpoint file. Collective. */
static int write_checkpoint(void *ctx, const struct solve_state *s) {
  const struct run *run = ctx;
  struct io_state state = record_of(run, s, false);
  /* the history so far, so that a run continued from this checkpoint goes on with it */
  struct solve_history history;
  solve_history_snapshot(&run->result.history, run->team, &history);
  state.history = history.values;
  state.history_rows = history.rows;
  state.history_stride = history.stride;
  state.history_checks = history.checks;
  return io_write(run->checkpoint_path, run->field, &run->plate.boundary, run->cfg, run->team,
                  &state);
}

/* The halo traffic the run makes must be the traffic the plan predicts, rank by rank. The plan
 * counts one-deep rings; deeper ones (temporal blocks) carry more, by design. */
static int check_against_plan(const struct run *run) {
  if (run->field->depth > 1)
    return ERR_OK;
  struct decomp_rank_plan p;
  decomp_plan_rank(&run->layout, run->team->rank, run->team->node_of_rank,
                   run->cfg->halo_mode == CFG_HALO_P2P, &p);
  struct halo_counts c = halo_counts(run->halo);
  if (p.halo_points_local != c.local_points || p.halo_points_shm != c.shm_points ||
      p.halo_points_p2p != c.p2p_points || p.messages != c.messages ||
      p.shm_neighbours != c.shm_neighbours)
    return err_set(ERR_FAILURE,
                   "halo traffic differs from the plan: exchanged %lld/%lld/%lld points "
                   "(local/shm/p2p), planned %lld/%lld/%lld",
                   (long long)c.local_points, (long long)c.shm_points, (long long)c.p2p_points,
                   (long long)p.halo_points_local, (long long)p.halo_points_shm,
                   (long long)p.halo_points_p2p);
  return ERR_OK;
}

/* The summary's kernel line: the variants run (kernel: as the calibration and the run's first
 * sweeps chose them; NULL: not chosen), then the method's words (a temporal block's wavefront). */
static void describe_kernel(struct run *run, const struct tune_choice *kernel) {
  if (kernel != NULL)
    tune_describe(kernel, &run->result.figures.variants, run->kernel, sizeof run->kernel);
  if (run->method->describe_kernel != NULL)
    run->method->describe_kernel(run->cfg, run->plate.general, run->kernel, sizeof run->kernel);
}

static int solve(struct run *run) {
  const struct cfg *cfg = run->cfg;
  struct team *team = run->team;
  if (team->rank == 0 && !run->cli.quiet) {
    int nodes = 0;
    for (int r = 0; r < team->size; r++)
      nodes += team->node_of_rank[r] == r;
    report_header(cfg, run->method, &run->layout, nodes, run->first_iteration);
  }
  /* The kernel variants, chosen by timing on this machine (tune.h), for a method's plain sweeps
   * on this rank's largest tile. The general and faces updates keep the stores set and the
   * CPU's own instruction set, as a temporal block's wavefront does: nothing to time. */
  bool sweeps = run->method->tuned && !run->plate.general && !field_faces(run->field);
  struct tune_choice kernel = {0};
  if (sweeps) {
    int64_t rows = 0, cols = 0;
    for (int64_t t = 0; t < run->field->ntiles; t++)
      if (run->field->tiles[t].nrows * run->field->tiles[t].ncols > rows * cols)
        rows = run->field->tiles[t].nrows, cols = run->field->tiles[t].ncols;
    double footprint = 2.0 * (double)run->field->buffer_len * sizeof(double); /* every tile */
    /* a temporal block's wavefront takes no variant: nothing for its sweeps to try */
    int64_t trial_interval = cfg->temporal_block > 1 ? 0 : cfg->check_interval;
    CHECK(tune_choose(team, cfg->stores, rows, cols, footprint, trial_interval, &kernel));
  }
  /* With target_error the classic rule takes part only if the tolerance was given too. */
  bool classic = cfg->target_error <= 0 || cfg_is_set(cfg, "solver.tolerance");
  struct solve_params params = {
      .method = run->method,
      .method_cfg = cfg,
      .halo_mode = halo_mode_of(cfg->halo_mode),
      .tolerance = classic ? cfg->tolerance : 0.0,
      .target_error = cfg->target_error,
      .estimate = run->estimate,
      .stall = run->stall,
      .max_iterations = cfg->max_iterations,
      .check_interval = cfg->check_interval,
      .streaming_stores = cfg->stores == CFG_STORES_STREAMING,
      .variants_chosen = sweeps,
      .variants = kernel.trial,
      .overlap = cfg->halo_overlap,
      .temporal_block = cfg->temporal_block,
      .progress = !run->cli.quiet,
      .first_iteration = run->first_iteration,
      .history = run->history.rows > 0 || run->history.pending ? &run->history : NULL,
      .checkpoint_interval = cfg->checkpoint_interval,
      .checkpoint = write_checkpoint,
      .checkpoint_ctx = run};
  /* The handlers are installed here, not at start-up: until the solve loop, where a signal
   * means "checkpoint and stop", SIGINT and SIGTERM keep their default action and end a long
   * --dry-run or set-up at once (nothing has been written yet). */
  CHECK(team_agree(team, solve_catch_signals()));
  CHECK(team_agree(team, solve_run(run->field, run->halo, team, &params, &run->result)));
  describe_kernel(run, sweeps ? &kernel : NULL);
  return team_agree(team, check_against_plan(run));
}

/* The warning of a run that the classic rule stopped far from T*: an estimate over 10 x the
 * tolerance, or over 1% of the temperature range; and the way out. */
static void far_from_answer(const struct run *run, struct report_summary *s) {
  const struct cfg *cfg = run->cfg;
  double lo = fmin(run->plate.answer_lo, run->plate.start_lo);
  double hi = fmax(run->plate.answer_hi, run->plate.start_hi);
  if (!s->converged || cfg->target_error > 0 ||
      !(s->error_estimate > 10 * cfg->tolerance || s->error_estimate > 0.01 * (hi - lo)))
    return;
  s->warn = true;
  s->goal = cfg->tolerance;
  s->more = run->method->steps_to(&run->estimate, &run->result.figures, s->error_estimate, s->goal);
  s->goal_tolerance = s->change * s->goal / s->error_estimate;
  /* the faster methods, from the start: from the reference estimate where there is one */
  double from = isfinite(run->estimate.ref_estimate) ? run->estimate.ref_estimate : s->error_bound;
  const struct method_ops *faster[REPORT_FASTER_MAX];
  int n = method_faster(run->method, faster, REPORT_FASTER_MAX);
  for (int k = 0; k < n; k++)
    s->faster[k] =
        (struct report_faster){.method = faster[k]->name,
                               .step = faster[k]->step_name,
                               .total = faster[k]->steps_to(&run->estimate, NULL, from, s->goal)};
  s->nfaster = n;
}

/* The result to output.path; a run stopped by a signal writes its checkpoint instead, so that
 * output.path keeps the last complete result. Then the summary. Collective. */
static int write_result(struct run *run) {
  const struct cfg *cfg = run->cfg;
  struct team *team = run->team;
  const struct solve_result *r = &run->result;
  struct io_state state = record_of(run, &r->state, r->converged);
  const char *path = r->interrupted ? run->checkpoint_path : cfg->output_path;
  struct plate_heat heat;
  double heat_start = seconds_now();
  CHECK(plate_heat_flow(&run->plate, run->field, run->halo, team, &heat));
  run->phase[REPORT_PHASE_HEAT] = seconds_now() - heat_start;
  struct io_heat io_heat = {.region = heat.region,
                            .nregions = cfg->nregions,
                            .source = heat.source,
                            .imbalance = heat.imbalance,
                            .imbalance_bound = heat.imbalance_bound,
                            .faces = run->plate.faces,
                            .surface = heat.surface};
  for (int side = 0; side < DECOMP_NSIDES; side++)
    io_heat.edge[side] = heat.edge[side];
  state.heat = &io_heat;
  state.history = r->history.values;
  state.history_rows = r->history.rows;
  state.history_stride = r->history.stride;
  state.history_checks = r->history.checks;
  /* the --verbose figures, also into the file: times are the maximum over ranks, halo points
   * the sum (the output's own time is known only after the write, and is the summary's) */
  double mine[6] = {r->compute_seconds, r->halo_seconds,       r->reduce_seconds,
                    r->wall_seconds,    r->checkpoint_seconds, r->estimate_seconds};
  double max[6];
  MPI_CHECK(MPI_Allreduce(mine, max, 6, MPI_DOUBLE, MPI_MAX, team->comm));
  struct halo_counts c = halo_counts(run->halo);
  long long counts[4] = {c.local_points, c.shm_points, c.p2p_points, c.messages}, sums[4];
  MPI_CHECK(MPI_Allreduce(counts, sums, 4, MPI_LONG_LONG, MPI_SUM, team->comm));
  int64_t exchange_every = run->method->sweeps ? cfg->temporal_block : 1;
  struct io_run_info info = {.kernel = run->kernel[0] != '\0' ? run->kernel : NULL,
                             .wall_seconds = max[3],
                             .compute_seconds = max[0],
                             .halo_seconds = max[1],
                             .reduce_seconds = max[2],
                             .estimate_seconds = max[5],
                             .halo_shared_points = sums[1],
                             .halo_message_points = sums[2],
                             .halo_messages = sums[3],
                             .halo_local_points = sums[0],
                             .exchange_every = exchange_every};
  state.run = &info;
  double t0 = MPI_Wtime();
  int status = io_write(path, run->field, &run->plate.boundary, cfg, team, &state);
  run->write_seconds = MPI_Wtime() - t0;
  if (status != ERR_OK) {
    plate_heat_release(&heat);
    return status;
  }

  struct report_summary s = {.iterations = r->state.iteration,
                             .change = r->state.change,
                             .tolerance = cfg->tolerance,
                             .converged = r->converged,
                             .points = cfg->nx * cfg->ny,
                             .checksum = field_checksum(run->field, team),
                             .iterations_run = r->state.iteration - run->first_iteration,
                             .output_path = path,
                             .interrupted = r->interrupted,
                             .method = cfg_method_name(cfg->method),
                             .target_error = cfg->target_error,
                             .stalled_at = r->stalled_at,
                             .stalled_bound = r->stalled_bound,
                             .classic_rule =
                                 cfg->target_error <= 0 || cfg_is_set(cfg, "solver.tolerance"),
                             .error_estimate = r->state.error_estimate,
                             .error_bound = r->state.error_bound,
                             .step = run->method->step_name,
                             .work_per_step = run->method->sweeps ? 1.0 : r->figures.work_per_step,
                             .in_sweep_equivalents = !run->method->sweeps,
                             .kernel = run->kernel[0] != '\0' ? run->kernel : NULL,
                             .heat = &heat,
                             .nregions = cfg->nregions,
                             .physical_units = cfg_is_set(cfg, "plate.conductivity"),
                             .verbose = run->cli.verbose};
  if (run->method->describe_run != NULL)
    run->method->describe_run(&r->figures, s.iterations_run, s.method_line, sizeof s.method_line);
  s.exchange_every = run->method->sweeps ? cfg->temporal_block : 1;
  far_from_answer(run, &s);
  double output_seconds = r->checkpoint_seconds + run->write_seconds;
  MPI_CHECK(MPI_Reduce(team->rank == 0 ? MPI_IN_PLACE : &output_seconds, &output_seconds, 1,
                       MPI_DOUBLE, MPI_MAX, 0, team->comm));
  max[4] = output_seconds;
  s.compute_seconds = max[0];
  s.halo_seconds = max[1];
  s.reduce_seconds = max[2];
  s.wall_seconds = max[3];
  s.output_seconds = max[4];
  s.estimate_seconds = max[5];
  run->phase[REPORT_PHASE_OUTPUT] = run->write_seconds;
  for (int p = 0; p < REPORT_PHASES; p++)
    s.phase[p] = run->phase[p];
  s.halo = (struct halo_counts){.local_points = sums[0],
                                .shm_points = sums[1],
                                .p2p_points = sums[2],
                                .messages = (int)sums[3]};
  /* ParaView 5.11's default reader cannot open a bare name (docs/guide.md, "Visualising"): "./" */
  char *xmf = io_xdmf_path(path);
  char *sidecar = xmf != NULL ? malloc(strlen(xmf) + 3) : NULL;
  if (sidecar != NULL)
    snprintf(sidecar, strlen(xmf) + 3, "%s%s", strchr(xmf, '/') != NULL ? "" : "./", xmf);
  s.sidecar = sidecar;
  if (team->rank == 0)
    report_summary(&s);
  free(sidecar);
  free(xmf);
  plate_heat_release(&heat);
  return ERR_OK;
}

/* [time]: march to time.end and write the series (transient.h), with its own header and
 * summary. Collective. */
static int march(struct run *run) {
  const struct cfg *cfg = run->cfg;
  struct team *team = run->team;
  if (team->rank == 0 && !run->cli.quiet) {
    int nodes = 0;
    for (int r = 0; r < team->size; r++)
      nodes += team->node_of_rank[r] == r;
    char span[96];
    if (isinf(cfg->time_end))
      snprintf(span, sizeof span, "steps of %.6g s until steady (at most %lld)", cfg->time_step,
               (long long)cfg->time_steps);
    else
      snprintf(span, sizeof span, "%lld steps of %.6g s to %.6g s", (long long)cfg->time_steps,
               cfg->time_step, cfg->time_end);
    printf("jacobi %s: transient, %lld x %lld points, %d rank%s on %d node%s: scheme %s, %s%s\n",
           JACOBI_VERSION, (long long)cfg->nx, (long long)cfg->ny, team->size,
           team->size == 1 ? "" : "s", nodes, nodes == 1 ? "" : "s", cfg_scheme_name(cfg->scheme),
           span,
           cfg->scheme == CFG_SCHEME_EXPLICIT ? ""
           : !cfg_is_set(cfg, "solver.method") || cfg->method == CFG_METHOD_MULTIGRID
               ? " (each step solved by multigrid cycles, certified by its residual)"
           : cfg->method == CFG_METHOD_CHEBYSHEV
               ? " (each step solved by Chebyshev iterations, certified by its residual)"
               : " (each step solved by Jacobi sweeps)");
    if (cfg->from_file[0] != '\0')
      printf("continuing the series from the checkpoint %s\n", cfg->from_file);
    fflush(stdout);
  }
  method_exchange(halo_exchange, run->halo, team, run->field->current);
  CHECK(team_agree(team, solve_catch_signals()));
  struct transient_result r;
  CHECK(transient_run(run->field, run->halo, team, &run->plate, cfg, &run->estimate,
                      halo_mode_of(cfg->halo_mode), !run->cli.quiet, &r));
  run->result.converged = r.reached;       /* "steady" not certified in time.max_steps: exit 3 */
  run->result.interrupted = r.interrupted; /* exit 4 */
  uint64_t checksum = field_checksum(run->field, team);
  if (team->rank == 0 && r.steady && r.reached)
    printf("steady state certified after %lld steps: within %.3g of the steady equations' "
           "solution (target %.3g)\n",
           (long long)r.steps, r.steady_bound, r.steady_target);
  else if (team->rank == 0 && r.steady && !r.interrupted)
    printf("steady state NOT certified in time.max_steps = %lld steps: last certificate %.3g, "
           "target %.3g\n",
           (long long)r.steps, r.steady_bound, r.steady_target);
  if (team->rank == 0) { /* the summary, as the steady run's, even with --quiet */
    printf("%s t = %.6g s in %lld steps (%lld cycles, %lld sweeps, %.3g s; snapshots %.3g s); "
           "last step's change %.3g; largest step solve bound %.3g; explicit limit %.6g s\n"
           "series: %lld snapshots in %s%s%s%s\nchecksum %016llx\n",
           r.interrupted ? "stopped by a signal at" : "reached", (double)r.steps * cfg->time_step,
           (long long)r.steps, (long long)r.cycles, (long long)r.sweeps, r.seconds,
           r.snapshot_seconds, r.last_change, r.worst_bound, r.stability_limit,
           (long long)r.snapshots, cfg->output_path,
           r.checkpointed ? " (up to the stop; to go on: --set initial.from_file=" : "",
           r.checkpointed ? run->checkpoint_path : "", r.checkpointed ? ")" : "",
           (unsigned long long)checksum);
    fflush(stdout);
  }
  return ERR_OK;
}

static int finish(struct run *run, int status) {
  int exit_code = status;
  if (status == ERR_OK && !run->finished)
    exit_code = run->result.interrupted ? EXIT_INTERRUPTED
                : run->result.converged ? EXIT_CONVERGED
                                        : EXIT_NOT_CONVERGED;
  halo_destroy(&run->halo);
  field_destroy(&run->field);
  plate_destroy(&run->plate);
  free(run->checkpoint_path);
  cfg_destroy(&run->cfg);
  cli_release(&run->cli);
  team_destroy(&run->team);
  return exit_code;
}
