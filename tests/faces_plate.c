/* faces_plate.c - faces fields built by hand (faces_plate.h). */
#include "tests/faces_plate.h"

#include <math.h>
#include <stdlib.h>

const double FACES_H = 0.01, FACES_T = 0.005;

double faces_k(const struct faces_plate *p, int64_t gi, int64_t gj) {
  switch (p->pattern) {
  case K_SMOOTH:
    return 1.0 + 0.5 * sin(0.13 * (double)gj) * cos(0.07 * (double)gi);
  case K_CHECKER:
    return ((gi / p->block + gj / p->block) % 2) ? p->contrast : 1.0;
  case K_INSERT: /* a rectangle whose sides fall between the coarse grids' lines */
    return gi >= p->ny / 3 && gi < 2 * p->ny / 3 + 1 && gj >= p->nx / 4 + 1 && gj < p->nx / 2
               ? p->contrast
               : 1.0;
  case K_INSERT_ALIGNED: /* its sides on multiples of 8 points */
    return gi >= p->ny / 32 * 8 && gi < p->ny / 16 * 8 + 8 && gj >= p->nx / 32 * 8 &&
                   gj < p->nx / 16 * 8 + 8
               ? p->contrast
               : 1.0;
  case K_LAYERED:
    return (gi / p->block) % 2 ? p->contrast : 1.0;
  default:
    return 1.0;
  }
}

double faces_harmonic(double a, double b) { return 2.0 * a * b / (a + b); }

bool faces_held(const struct faces_plate *p, int64_t gi, int64_t gj, double *temperature) {
  double di = (double)gi - (double)(p->ny / 3), dj = (double)gj - (double)(p->nx / 3);
  *temperature = p->disk_t;
  return p->disk_r > 0.0 && di * di + dj * dj <= p->disk_r * p->disk_r;
}

void faces_row(const struct faces_plate *p, int64_t gi, int64_t gj, double cond[4], double *diag,
               double *load) {
  double held;
  if (faces_held(p, gi, gj, &held)) {
    cond[0] = cond[1] = cond[2] = cond[3] = 0.0;
    *diag = 1.0;
    *load = held;
    return;
  }
  const bool on[4] = {gi == 0, gi == p->ny - 1, gj == 0, gj == p->nx - 1};
  bool free_edge[4];
  for (int d = 0; d < 4; d++)
    free_edge[d] = on[d] && p->edge[d].kind != EDGE_HELD;
  double h = FACES_H, t = FACES_T, kp = faces_k(p, gi, gj);
  /* the node's control volume's sides: h, or h/2 on an edge that is not held */
  double len_x = (free_edge[2] || free_edge[3]) ? h / 2 : h;
  double len_y = (free_edge[0] || free_edge[1]) ? h / 2 : h;
  double volume = len_x * len_y;
  const int64_t di[4] = {-1, 1, 0, 0}, dj[4] = {0, 0, -1, 1};
  *diag = 2.0 * p->surface_h * volume;
  *load = p->source * volume + 2.0 * p->surface_h * volume * p->surface_t;
  for (int d = 0; d < 4; d++) {
    double len = d < 2 ? len_x : len_y; /* the face toward d is as long as the volume across */
    if (!on[d]) {
      cond[d] = t * faces_harmonic(kp, faces_k(p, gi + di[d], gj + dj[d])) * len / h;
    } else if (p->edge[d].kind == EDGE_HELD) {
      cond[d] = t * kp * len / h;
    } else {
      cond[d] = 0.0;
      if (p->edge[d].kind == EDGE_FLUX)
        *load += p->edge[d].value * t * len;
      if (p->edge[d].kind == EDGE_CONVECTIVE) {
        *diag += p->edge[d].value * t * len;
        *load += p->edge[d].value * t * len * p->edge[d].ambient;
      }
    }
  }
  *diag = *diag + ((cond[0] + cond[1]) + (cond[2] + cond[3]));
}

double *faces_sides(const struct faces_plate *p, int64_t *ring) {
  *ring = (p->nx > p->ny ? p->nx : p->ny) + 2;
  double *sides = calloc((size_t)(4 * *ring), sizeof *sides);
  for (int d = 0; sides != NULL && d < 4; d++)
    for (int64_t c = 0; c < *ring; c++)
      sides[d * *ring + c] = p->edge[d].kind == EDGE_HELD ? p->edge[d].value : 0.0;
  return sides;
}

int faces_fill(const struct faces_plate *p, struct field *f) {
  for (int d = 0; d < 4; d++)
    f->cond[d] = calloc((size_t)f->buffer_len, sizeof(double));
  f->diag = calloc((size_t)f->buffer_len, sizeof(double));
  f->load = calloc((size_t)f->buffer_len, sizeof(double));
  if (f->cond[0] == NULL || f->cond[1] == NULL || f->cond[2] == NULL || f->cond[3] == NULL ||
      f->diag == NULL || f->load == NULL)
    return -1;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t s = field_stride(f, t), origin = f->tile_offset[t] + f->depth * s + f->depth;
    /* the interior only: the plate fills the rings only where a sweep needs them (depth > 1),
     * so what reads the arrays at depth 1 (multigrid) must read its own points. The rings'
     * conductances 0, as the plate leaves them (a reader would take its neighbours for held
     * points, and the decompositions would differ), the rest NaN */
    for (int64_t i = -f->depth; i < f->tiles[t].nrows + f->depth; i++)
      for (int64_t j = -f->depth; j < f->tiles[t].ncols + f->depth; j++) {
        int64_t gi = f->tiles[t].row0 + i, gj = f->tiles[t].col0 + j, at = origin + i * s + j;
        bool inside = i >= 0 && i < f->tiles[t].nrows && j >= 0 && j < f->tiles[t].ncols;
        if (!inside) {
          for (int k = 0; k < 4; k++)
            f->cond[k][at] = 0.0;
          f->diag[at] = f->load[at] = NAN;
          continue;
        }
        double c[4], d, l, held;
        faces_row(p, gi, gj, c, &d, &l);
        for (int k = 0; k < 4; k++)
          f->cond[k][at] = c[k];
        f->diag[at] = d;
        f->load[at] = l;
        for (int b = 0; b < 2 && faces_held(p, gi, gj, &held); b++)
          field_interior(f, b, t)[i * s + j] = held;
      }
  }
  return 0;
}

/* The faces equations on the whole grid by banded elimination (row-major, band nx). */
double *faces_direct(const struct faces_plate *p) {
  int64_t nx = p->nx, n = nx * p->ny, bw = nx, width = 2 * bw + 1;
  double *a = calloc((size_t)(n * width), sizeof *a), *x = calloc((size_t)n, sizeof *x);
#define A(u, v) a[(u)*width + bw + (v) - (u)]
  for (int64_t i = 0; i < p->ny; i++)
    for (int64_t j = 0; j < nx; j++) {
      int64_t u = i * nx + j;
      double c[4], d, l;
      faces_row(p, i, j, c, &d, &l);
      A(u, u) = d;
      x[u] = l;
      const int64_t v[4] = {u - nx, u + nx, u - 1, u + 1};
      const bool in[4] = {i > 0, i<p->ny - 1, j> 0, j < nx - 1};
      for (int k = 0; k < 4; k++) {
        if (in[k])
          A(u, v[k]) = -c[k];
        else if (p->edge[k].kind == EDGE_HELD)
          x[u] += c[k] * p->edge[k].value;
      }
    }
  for (int64_t k = 0; k < n; k++)
    for (int64_t i = k + 1; i <= k + bw && i < n; i++) {
      double m = A(i, k) / A(k, k);
      if (m == 0.0)
        continue;
      for (int64_t j = k; j <= k + bw && j < n; j++)
        A(i, j) -= m * A(k, j);
      x[i] -= m * x[k];
    }
  for (int64_t u = n - 1; u >= 0; u--) {
    double s = x[u];
    for (int64_t v = u + 1; v <= u + bw && v < n; v++)
      s -= A(u, v) * x[v];
    x[u] = s / A(u, u);
  }
#undef A
  free(a);
  return x;
}
