/* decomp.c - the ownership map; see decomp.h.
 *
 * Everything follows from one fact: in each dimension, index i lies in block B = i / b, and
 * block B belongs to process B mod p, where it is the run number B / p. A dimension over p > 1
 * processes never gives two consecutive blocks to the same process, and a dimension over one
 * process is one block (b = n), so a process's runs are exactly its blocks and a tile is one
 * (row block, column block) pair. Who owns a tile, and its index there, are then arithmetic on
 * block numbers: no search, no tables.
 *
 * Preconditions, not checked on the hot paths: a layout or distribution comes from its _init,
 * ranks and processes are in range, global indices in [0, n), local ones in [0, count), tile
 * numbers in [0, ntiles), run numbers in [0, nruns). No intermediate exceeds n in a dimension
 * (ceil_div never forms n + b - 1), nor a rank's points or bytes in the plan, so int64_t holds
 * every figure of any grid whose bytes are countable at all.
 */
#include "decomp/decomp.h"

#include "common/err.h"
#include "common/minmax.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- 1-D ------------------------------------------------------------------------------------- */

/* ceil(a / b) for a >= 0, b >= 1, without forming a + b - 1 (which could overflow). */
static int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

static int64_t dist_nblocks(const struct decomp_dist *d) { return ceil_div(d->n, d->b); }

int decomp_dist_init(struct decomp_dist *d, int64_t n, int p, enum decomp_kind kind,
                     int64_t block_size) {
  if (n < 1)
    return err_set(ERR_CONFIG, "cannot distribute %" PRId64 " indices: at least 1 is needed", n);
  if (p < 1)
    return err_set(ERR_CONFIG, "cannot distribute over %d processes: at least 1 is needed", p);
  int64_t b;
  switch (kind) {
  case DECOMP_BLOCK:
    b = ceil_div(n, p); /* HPF BLOCK: the last processes may get less, or nothing */
    break;
  case DECOMP_CYCLIC:
    b = 1;
    break;
  case DECOMP_BLOCK_CYCLIC:
    if (block_size < 1)
      return err_set(ERR_CONFIG, "decomposition.block_size must be at least 1, got %" PRId64,
                     block_size);
    b = block_size;
    break;
  default:
    return err_set(ERR_CONFIG, "unknown partitioner %d", (int)kind);
  }
  /* One process is never cut: a single run keeps its tile whole whatever the partitioner. */
  *d = (struct decomp_dist){.n = n, .p = p, .b = p == 1 ? n : b};
  return ERR_OK;
}

int decomp_dist_owner(const struct decomp_dist *d, int64_t gi) { return (int)(gi / d->b % d->p); }

int64_t decomp_dist_local(const struct decomp_dist *d, int64_t gi) {
  return gi / d->b / d->p * d->b + gi % d->b;
}

int64_t decomp_dist_global(const struct decomp_dist *d, int proc, int64_t li) {
  int64_t block = li / d->b * d->p + proc;
  return block * d->b + li % d->b;
}

/* ScaLAPACK's numroc: whole blocks dealt round-robin, then the last (short) block, if any, to
 * the process next in turn. */
int64_t decomp_dist_count(const struct decomp_dist *d, int proc) {
  int64_t whole_blocks = d->n / d->b, tail = d->n % d->b;
  int64_t count = whole_blocks / d->p * d->b;
  int64_t extra_blocks = whole_blocks % d->p;
  if (proc < extra_blocks)
    count += d->b;
  else if (proc == extra_blocks)
    count += tail;
  return count;
}

int64_t decomp_dist_nruns(const struct decomp_dist *d, int proc) {
  int64_t nblocks = dist_nblocks(d);
  return proc < nblocks ? (nblocks - 1 - proc) / d->p + 1 : 0;
}

struct decomp_run decomp_dist_run(const struct decomp_dist *d, int proc, int64_t k) {
  int64_t start = (k * d->p + proc) * d->b;
  return (struct decomp_run){.start = start, .len = min64(d->b, d->n - start)};
}

/* ---- 2-D: process grid ----------------------------------------------------------------------- */

int decomp_dims_fill(int nranks, int dims[2]) {
  if (nranks < 1)
    return err_set(ERR_CONFIG, "a run needs at least one rank, got %d", nranks);
  if (dims[0] < 0 || dims[1] < 0)
    return err_set(ERR_CONFIG,
                   "decomposition.process_grid [%d, %d] has a negative entry: each must be a "
                   "number of processes, or 0 to have it chosen",
                   dims[0], dims[1]);
  if (dims[0] == 0 && dims[1] == 0) {
    /* The most nearly square pair: the largest divisor not above sqrt(nranks) goes second,
     * as MPI_Dims_create orders its dimensions (non-increasing). */
    int small = 1;
    for (int f = 1; (int64_t)f * f <= nranks; f++)
      if (nranks % f == 0)
        small = f;
    dims[0] = nranks / small;
    dims[1] = small;
    return ERR_OK;
  }
  if (dims[0] == 0 || dims[1] == 0) {
    int given = dims[0] != 0 ? dims[0] : dims[1];
    if (nranks % given != 0)
      return err_set(ERR_CONFIG,
                     "decomposition.process_grid [%d, %d] cannot be completed for %d ranks (%d "
                     "does not divide %d)",
                     dims[0], dims[1], nranks, given, nranks);
    dims[dims[0] == 0 ? 0 : 1] = nranks / given;
    return ERR_OK;
  }
  int64_t product = (int64_t)dims[0] * dims[1];
  if (product != nranks)
    return err_set(ERR_CONFIG,
                   "decomposition.process_grid [%d, %d] has %" PRId64
                   " processes, but the run has %d ranks",
                   dims[0], dims[1], product, nranks);
  return ERR_OK;
}

/* ---- 2-D: layout and tiles ------------------------------------------------------------------- */

int decomp_layout_init(struct decomp_layout *l, int64_t nx, int64_t ny, int nranks,
                       const int dims[2], enum decomp_kind kind, int64_t block_size) {
  if (nx < 1 || ny < 1)
    return err_set(ERR_CONFIG,
                   "the grid needs at least one interior point each way, got grid.nx = %" PRId64
                   " and grid.ny = %" PRId64,
                   nx, ny);
  if (kind == DECOMP_BLOCK_CYCLIC && block_size < 1)
    return err_set(ERR_CONFIG, "decomposition.block_size must be at least 1, got %" PRId64,
                   block_size);
  int filled[2] = {dims[0], dims[1]};
  CHECK(decomp_dims_fill(nranks, filled));
  /* nx * ny can overflow; it is only formed when both are below nranks, hence small. */
  if (nx < nranks && ny < nranks && nx * ny < nranks)
    return err_set(ERR_CONFIG,
                   "%d ranks for only %" PRId64 " interior points (grid.nx = %" PRId64
                   ", grid.ny = %" PRId64 "): run on at most %" PRId64 " ranks",
                   nranks, nx * ny, nx, ny, nx * ny);
  struct decomp_layout built = {
      .nx = nx, .ny = ny, .nranks = nranks, .prows = filled[0], .pcols = filled[1], .kind = kind};
  CHECK(decomp_dist_init(&built.rows, ny, built.prows, kind, block_size));
  CHECK(decomp_dist_init(&built.cols, nx, built.pcols, kind, block_size));
  *l = built;
  return ERR_OK;
}

static int proc_row(const struct decomp_layout *l, int rank) { return rank / l->pcols; }
static int proc_col(const struct decomp_layout *l, int rank) { return rank % l->pcols; }

int64_t decomp_ntiles(const struct decomp_layout *l, int rank) {
  return decomp_dist_nruns(&l->rows, proc_row(l, rank)) *
         decomp_dist_nruns(&l->cols, proc_col(l, rank));
}

/* The tile of row block rb and column block cb: its owner and its number there, or
 * DECOMP_BOUNDARY and -1 when a block number is off the grid. */
static int tile_of_blocks(const struct decomp_layout *l, int64_t rb, int64_t cb, int64_t *tile) {
  if (rb < 0 || rb >= dist_nblocks(&l->rows) || cb < 0 || cb >= dist_nblocks(&l->cols)) {
    *tile = -1;
    return DECOMP_BOUNDARY;
  }
  int pr = (int)(rb % l->prows), pc = (int)(cb % l->pcols);
  *tile = rb / l->prows * decomp_dist_nruns(&l->cols, pc) + cb / l->pcols;
  return pr * l->pcols + pc;
}

void decomp_tile(const struct decomp_layout *l, int rank, int64_t t, struct decomp_tile *out) {
  int pr = proc_row(l, rank), pc = proc_col(l, rank);
  int64_t ncolruns = decomp_dist_nruns(&l->cols, pc);
  int64_t kr = t / ncolruns, kc = t % ncolruns;
  struct decomp_run rows = decomp_dist_run(&l->rows, pr, kr);
  struct decomp_run cols = decomp_dist_run(&l->cols, pc, kc);
  int64_t rb = kr * l->prows + pr, cb = kc * l->pcols + pc; /* this tile's blocks */
  *out = (struct decomp_tile){
      .row0 = rows.start, .nrows = rows.len, .col0 = cols.start, .ncols = cols.len};
  static const int64_t drow[DECOMP_NSIDES] = {[DECOMP_NORTH] = -1, [DECOMP_SOUTH] = 1};
  static const int64_t dcol[DECOMP_NSIDES] = {[DECOMP_WEST] = -1, [DECOMP_EAST] = 1};
  for (int s = 0; s < DECOMP_NSIDES; s++)
    out->nbr_rank[s] = tile_of_blocks(l, rb + drow[s], cb + dcol[s], &out->nbr_tile[s]);
}

int decomp_owner(const struct decomp_layout *l, int64_t gi, int64_t gj, int64_t *tile, int64_t *li,
                 int64_t *lj) {
  if (gi < 0 || gi >= l->ny || gj < 0 || gj >= l->nx) {
    *tile = *li = *lj = -1;
    return DECOMP_BOUNDARY; /* not an interior point */
  }
  *li = gi % l->rows.b; /* a tile is one whole block: its first row is a multiple of b */
  *lj = gj % l->cols.b;
  return tile_of_blocks(l, gi / l->rows.b, gj / l->cols.b, tile);
}

/* ---- plan figures ---------------------------------------------------------------------------- */

/* Distinct ranks; a rank has at most one neighbour rank per side (see decomp_plan_rank). */
struct rank_set {
  int rank[DECOMP_NSIDES];
  int n;
};

static void rank_set_add(struct rank_set *set, int rank) {
  for (int k = 0; k < set->n; k++)
    if (set->rank[k] == rank)
      return;
  set->rank[set->n++] = rank;
}

/* Rank r = (pr, pc) owns row blocks pr, pr + prows, pr + 2 prows, ... The block north of any of
 * them, B - 1, belongs to process row (pr - 1) mod prows, so all of r's tiles that have a
 * northern neighbour have it on the same rank; likewise on the other three sides. Every row run
 * but the one in block 0 (r's iff pr == 0) has a northern neighbour, along all of r's columns:
 * the north side receives (row runs - [pr == 0]) * owned columns points, from one rank. So the
 * plan is O(1) per rank; tests/test_decomp.c checks it against the tiles one by one and against
 * a count over every point. */
void decomp_plan_rank(const struct decomp_layout *l, int rank, const int *node_of_rank,
                      bool force_p2p, struct decomp_rank_plan *out) {
  int pr = proc_row(l, rank), pc = proc_col(l, rank);
  int64_t row_runs = decomp_dist_nruns(&l->rows, pr), col_runs = decomp_dist_nruns(&l->cols, pc);
  int64_t owned_rows = decomp_dist_count(&l->rows, pr);
  int64_t owned_cols = decomp_dist_count(&l->cols, pc);
  *out =
      (struct decomp_rank_plan){.tiles = row_runs * col_runs,
                                .points = owned_rows * owned_cols,
                                .bytes = (owned_rows + 2 * row_runs) * (owned_cols + 2 * col_runs) *
                                         2 * (int64_t)sizeof(double)};
  if (out->tiles == 0)
    return;
  bool first_row_block = pr == 0, last_row_block = (dist_nblocks(&l->rows) - 1) % l->prows == pr;
  bool first_col_block = pc == 0, last_col_block = (dist_nblocks(&l->cols) - 1) % l->pcols == pc;
  const struct {
    int64_t points;
    int nbr;
  } side[DECOMP_NSIDES] = {
      [DECOMP_NORTH] = {(row_runs - first_row_block) * owned_cols,
                        (pr + l->prows - 1) % l->prows * l->pcols + pc},
      [DECOMP_SOUTH] = {(row_runs - last_row_block) * owned_cols,
                        (pr + 1) % l->prows * l->pcols + pc},
      [DECOMP_WEST] = {(col_runs - first_col_block) * owned_rows,
                       pr * l->pcols + (pc + l->pcols - 1) % l->pcols},
      [DECOMP_EAST] = {(col_runs - last_col_block) * owned_rows,
                       pr * l->pcols + (pc + 1) % l->pcols},
  };
  struct rank_set shm = {.n = 0}, p2p = {.n = 0};
  for (int s = 0; s < DECOMP_NSIDES; s++) {
    int nbr = side[s].nbr;
    if (side[s].points == 0)
      continue;
    if (nbr == rank) {
      out->halo_points_local += side[s].points;
    } else if (!force_p2p && (node_of_rank == NULL || node_of_rank[nbr] == node_of_rank[rank])) {
      out->halo_points_shm += side[s].points;
      rank_set_add(&shm, nbr);
    } else {
      out->halo_points_p2p += side[s].points;
      rank_set_add(&p2p, nbr);
    }
  }
  out->shm_neighbours = shm.n;
  out->messages = p2p.n;
}

/* ---- the printed plan ------------------------------------------------------------------------ */

enum plan_column {
  COL_RANK,
  COL_NODE,
  COL_TILES,
  COL_POINTS,
  COL_MEMORY,
  COL_HALO_LOCAL,
  COL_HALO_SHM,
  COL_HALO_P2P,
  COL_HALO_KIB,
  COL_SHM_NEIGHBOURS,
  COL_MESSAGES,
  NCOLUMNS
};

static const char *const column_title[NCOLUMNS] = {[COL_RANK] = "rank",
                                                   [COL_NODE] = "node",
                                                   [COL_TILES] = "tiles",
                                                   [COL_POINTS] = "points",
                                                   [COL_MEMORY] = "memory MiB",
                                                   [COL_HALO_LOCAL] = "halo local",
                                                   [COL_HALO_SHM] = "halo shm",
                                                   [COL_HALO_P2P] = "halo p2p",
                                                   [COL_HALO_KIB] = "halo KiB/it",
                                                   [COL_SHM_NEIGHBOURS] = "shm neighbours",
                                                   [COL_MESSAGES] = "messages"};

/* One rank's figures, or their sum or maximum over ranks (which can outgrow an int). */
struct plan_figures {
  int64_t tiles, points, bytes, local, shm, p2p, shm_neighbours, messages;
};

static struct plan_figures figures_of(const struct decomp_rank_plan *p) {
  return (struct plan_figures){
      p->tiles,           p->points,          p->bytes,          p->halo_points_local,
      p->halo_points_shm, p->halo_points_p2p, p->shm_neighbours, p->messages};
}

static void figures_accumulate(struct plan_figures *sum, struct plan_figures *max,
                               const struct plan_figures *f) {
  *sum = (struct plan_figures){sum->tiles + f->tiles,
                               sum->points + f->points,
                               sum->bytes + f->bytes,
                               sum->local + f->local,
                               sum->shm + f->shm,
                               sum->p2p + f->p2p,
                               sum->shm_neighbours + f->shm_neighbours,
                               sum->messages + f->messages};
  *max = (struct plan_figures){max64(max->tiles, f->tiles),
                               max64(max->points, f->points),
                               max64(max->bytes, f->bytes),
                               max64(max->local, f->local),
                               max64(max->shm, f->shm),
                               max64(max->p2p, f->p2p),
                               max64(max->shm_neighbours, f->shm_neighbours),
                               max64(max->messages, f->messages)};
}

typedef char plan_row[NCOLUMNS][32];

static void plan_row_format(plan_row row, const char *label, const char *node,
                            const struct plan_figures *f) {
  snprintf(row[COL_RANK], sizeof row[COL_RANK], "%s", label);
  snprintf(row[COL_NODE], sizeof row[COL_NODE], "%s", node);
  snprintf(row[COL_TILES], sizeof row[COL_TILES], "%" PRId64, f->tiles);
  snprintf(row[COL_POINTS], sizeof row[COL_POINTS], "%" PRId64, f->points);
  snprintf(row[COL_MEMORY], sizeof row[COL_MEMORY], "%.2f", (double)f->bytes / 1048576.0);
  snprintf(row[COL_HALO_LOCAL], sizeof row[COL_HALO_LOCAL], "%" PRId64, f->local);
  snprintf(row[COL_HALO_SHM], sizeof row[COL_HALO_SHM], "%" PRId64, f->shm);
  snprintf(row[COL_HALO_P2P], sizeof row[COL_HALO_P2P], "%" PRId64, f->p2p);
  snprintf(row[COL_HALO_KIB], sizeof row[COL_HALO_KIB], "%.1f",
           (double)(f->local + f->shm + f->p2p) * 8.0 / 1024.0);
  snprintf(row[COL_SHM_NEIGHBOURS], sizeof row[COL_SHM_NEIGHBOURS], "%" PRId64, f->shm_neighbours);
  snprintf(row[COL_MESSAGES], sizeof row[COL_MESSAGES], "%" PRId64, f->messages);
}

static void rank_row(const struct decomp_layout *l, int rank, const int *node_of_rank,
                     bool force_p2p, plan_row row, struct plan_figures *f) {
  struct decomp_rank_plan p;
  decomp_plan_rank(l, rank, node_of_rank, force_p2p, &p);
  *f = figures_of(&p);
  char label[16], node[16] = "";
  snprintf(label, sizeof label, "%d", rank);
  if (node_of_rank != NULL)
    snprintf(node, sizeof node, "%d", node_of_rank[rank]);
  plan_row_format(row, label, node, f);
}

static void widen(int width[NCOLUMNS], plan_row row) {
  for (int c = 0; c < NCOLUMNS; c++) {
    int w = (int)strlen(row[c]);
    width[c] = w > width[c] ? w : width[c];
  }
}

/* Two spaces between columns; the label column is left-aligned, numbers right-aligned. */
static void plan_row_print(FILE *out, const int width[NCOLUMNS], plan_row row, bool with_node) {
  for (int c = 0; c < NCOLUMNS; c++) {
    if (c == COL_NODE && !with_node)
      continue;
    if (c == COL_RANK)
      fprintf(out, "%-*s", width[c], row[c]);
    else
      fprintf(out, "  %*s", width[c], row[c]);
  }
  fputc('\n', out);
}

static const char *kind_name(enum decomp_kind kind) {
  switch (kind) {
  case DECOMP_BLOCK:
    return "block";
  case DECOMP_CYCLIC:
    return "cyclic";
  default:
    return "block-cyclic";
  }
}

/* How one dimension is cut, e.g. "rows: 64 in 4 blocks of 16 over 4 process rows, one each". */
static void describe_dimension(FILE *out, const char *what, const struct decomp_dist *d,
                               const char *procs) {
  if (d->p == 1) {
    fprintf(out, "  %s: %" PRId64 " on 1 process %s, not cut\n", what, d->n, procs);
    return;
  }
  int64_t nblocks = dist_nblocks(d), tail = d->n % d->b;
  fprintf(out, "  %s: %" PRId64 " in %" PRId64 " block%s of %" PRId64, what, d->n, nblocks,
          nblocks == 1 ? "" : "s", d->b);
  if (tail != 0 && nblocks > 1)
    fprintf(out, " (the last of %" PRId64 ")", tail);
  if (nblocks <= d->p) {
    fprintf(out, " over %d process %ss, one each", d->p, procs);
    if (nblocks < d->p)
      fprintf(out, " (%" PRId64 " process %s%s own%s nothing)", d->p - nblocks, procs,
              d->p - nblocks == 1 ? "" : "s", d->p - nblocks == 1 ? "s" : "");
  } else {
    fprintf(out, " dealt round-robin over %d process %ss (%s%" PRId64 " each)", d->p, procs,
            nblocks % d->p == 0 ? "" : "up to ", ceil_div(nblocks, d->p));
  }
  fputc('\n', out);
}

void decomp_plan_print(const struct decomp_layout *l, const int *node_of_rank, bool force_p2p,
                       FILE *out) {
  fprintf(out,
          "layout: %" PRId64 " x %" PRId64 " interior points (nx x ny) on %d rank%s, process "
          "grid %d x %d (rows x columns), partitioner %s\n",
          l->nx, l->ny, l->nranks, l->nranks == 1 ? "" : "s", l->prows, l->pcols,
          kind_name(l->kind));
  describe_dimension(out, "rows", &l->rows, "row");
  describe_dimension(out, "columns", &l->cols, "column");
  fprintf(out, "  halo: %s\n",
          force_p2p
              ? "a message to each neighbour rank (p2p)"
              : "shared windows within a node, a message to each neighbour rank on another node");
  fprintf(out, "  figures per rank; halo points and KiB (8 bytes a point) per iteration\n\n");

  /* Two passes over the ranks (the figures are O(1) each): widths and sums, then the rows.
   * Nothing is allocated, so printing cannot fail for want of memory. */
  bool with_node = node_of_rank != NULL;
  int width[NCOLUMNS];
  plan_row row;
  for (int c = 0; c < NCOLUMNS; c++)
    width[c] = (int)strlen(column_title[c]);
  struct plan_figures sum = {0}, max = {0}, f;
  for (int r = 0; r < l->nranks; r++) {
    rank_row(l, r, node_of_rank, force_p2p, row, &f);
    widen(width, row);
    figures_accumulate(&sum, &max, &f);
  }
  plan_row total_row, max_row;
  plan_row_format(total_row, "total", "", &sum);
  plan_row_format(max_row, "max", "", &max);
  widen(width, total_row);
  widen(width, max_row);

  plan_row header;
  for (int c = 0; c < NCOLUMNS; c++)
    snprintf(header[c], sizeof header[c], "%s", column_title[c]);
  plan_row_print(out, width, header, with_node);
  for (int r = 0; r < l->nranks; r++) {
    rank_row(l, r, node_of_rank, force_p2p, row, &f);
    plan_row_print(out, width, row, with_node);
  }
  plan_row_print(out, width, total_row, with_node);
  plan_row_print(out, width, max_row, with_node);

  double mean = (double)sum.points / l->nranks;
  fprintf(out, "load imbalance %.3f (max %" PRId64 " points on a rank, mean %.1f)\n",
          (double)max.points / mean, max.points, mean);
}
