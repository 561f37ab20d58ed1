#!/usr/bin/env python3
"""readme_keys.py - the README's table of the keys a first run needs agrees with the reference.

usage: readme_keys.py SOURCE_DIR    (exit 0: it agrees; 1: what disagrees is listed)

The README's table is written by hand, short; docs/configuration.md's is generated from the
schema (test_cfg holds it to cfg_print_reference). Every `section.key` the README's first column
names must be a key of the reference, and where a row names one key its default must begin with
the reference's default for that key, so that a renamed key or a changed default cannot leave
the README behind.
"""
import re
import sys

README_TABLE = '## The keys a first run needs'


def rows(text):
    """The cells of each row of the first Markdown table in `text` (header and rule left out)."""
    table = []
    for line in text.split('\n'):
        if line.startswith('|'):
            table.append([c.strip() for c in re.split(r'(?<!\\)\|', line.strip())[1:-1]])
        elif table:
            break
    return table[2:]


def check(readme, reference):
    problems = []
    start = readme.find(README_TABLE)
    if start < 0:
        return ['README.md: no section "%s"' % README_TABLE[3:]]
    defaults = {}
    for cells in rows(reference[reference.find('| key |'):]):
        defaults[cells[0].strip('`')] = cells[2]
    if len(defaults) < 10:
        return ['docs/configuration.md: expected its key table, found %d keys' % len(defaults)]
    checked = 0
    for cells in rows(readme[start:]):
        keys = re.findall(r'`([a-z_]+\.[a-z_.]+)`', cells[0])
        for key in keys:
            checked += 1
            if key not in defaults:
                problems.append('README.md: key %s is not in docs/configuration.md' % key)
        if len(keys) == 1 and keys[0] in defaults:
            if not cells[1].startswith(defaults[keys[0]]):
                problems.append('README.md: %s defaults to %s, the reference says %s'
                                % (keys[0], cells[1], defaults[keys[0]]))
    if checked == 0:
        problems.append('README.md: no key found in the table of "%s"' % README_TABLE[3:])
    return problems


def main(argv):
    if len(argv) != 2:
        print(__doc__.split('\n\n')[1])
        return 2
    with open(argv[1] + '/README.md', encoding='utf-8') as f:
        readme = f.read()
    with open(argv[1] + '/docs/configuration.md', encoding='utf-8') as f:
        reference = f.read()
    # the check itself: a wrong default and an unknown key must be seen
    bad = readme.replace('| `solver.method` | `"jacobi"`', '| `solver.method` | `"chebyshev"`')
    bad = bad.replace('`output.path`', '`output.pathname`')
    if readme == bad or len(check(bad, reference)) != 2:
        print('self-test: expected a wrong default and an unknown key to be reported, got %s'
              % check(bad, reference))
        return 1
    problems = check(readme, reference)
    for p in problems:
        print(p)
    print('the README\'s first-run keys %s' % ('disagree' if problems else
                                               'agree with docs/configuration.md'))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
