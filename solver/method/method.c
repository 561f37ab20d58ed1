/* method.c - the methods by name, and what their kind of check means; see method.h. */
#include "solver/method/method.h"

#include "common/err.h"

#include <string.h>

/* Every method the product has. A new one is a file with its table, and a line here. */
static const struct method_ops *const methods[] = {&method_jacobi, &method_chebyshev,
                                                   &method_multigrid};
enum { NMETHODS = sizeof methods / sizeof methods[0] };

const struct method_ops *method_find(const char *name) {
  for (int m = 0; m < NMETHODS; m++)
    if (strcmp(methods[m]->name, name) == 0)
      return methods[m];
  return NULL;
}

int method_faster(const struct method_ops *m, const struct method_ops **out, int max) {
  int n = 0;
  for (int speed = m->speed + 1; speed < NMETHODS; speed++)
    for (int k = 0; k < NMETHODS && n < max; k++)
      if (methods[k]->speed == speed)
        out[n++] = methods[k];
  return n;
}

int64_t method_checked_iterate(const struct method_ops *m, int64_t last) {
  return m->check == METHOD_CHECK_INPUT ? last - 1 : last;
}

bool method_after_step(const struct method_ops *m) { return m->check == METHOD_CHECK_CARRIED; }

void method_exchange(int (*exchange)(struct halo *, int), struct halo *halo,
                     const struct team *team, int buf) {
  if (exchange(halo, buf) != ERR_OK)
    team_abort(team, ERR_FAILURE);
}
