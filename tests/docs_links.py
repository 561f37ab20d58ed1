#!/usr/bin/env python3
"""docs_links.py - every relative link and #anchor in the README and docs/*.md resolves.

usage: docs_links.py SOURCE_DIR      (exit 0: all resolve; 1: the broken ones are listed)
       docs_links.py --self-test     (the checker itself finds what it should)

A link is [text](target) or ![alt](target) outside code blocks and code spans. A target that
starts with a scheme (https:, mailto:) is not checked: the suite runs offline. A relative target
must name an existing file or folder, relative to the document that holds it; its #anchor, or a
bare #anchor in the same document, must be one of the heading anchors GitHub makes for that
Markdown file: lower case, punctuation other than '-' and '_' dropped, spaces turned to '-', and
-1, -2, ... after repeats.
"""
import os
import re
import sys

LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+"[^"]*")?\)')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')


def unfenced(text):
    """(line number, line) outside fenced code blocks (``` or ~~~)."""
    fence = None
    for number, line in enumerate(text.split('\n'), 1):
        stripped = line.lstrip()
        if fence is None and (stripped.startswith('```') or stripped.startswith('~~~')):
            fence = stripped[:3]
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        yield number, line


def prose_lines(text):
    """(line number, line) outside code blocks, with code spans blanked."""
    for number, line in unfenced(text):
        stripped = line.lstrip()
        if line.startswith('    ') and not stripped.startswith(('-', '*', '|')) and stripped:
            continue  # an indented code block (this project's docs quote output so)
        yield number, re.sub(r'`[^`]*`', lambda m: ' ' * len(m.group(0)), line)


def anchors(text):
    """The anchors GitHub gives the headings of a Markdown text."""
    seen, result = {}, set()
    for _, line in unfenced(text):
        m = HEADING.match(line)
        if not m:
            continue
        title = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', m.group(2))  # a link: its text
        slug = re.sub(r'[^\w\- ]', '', title.strip().lower()).replace(' ', '-')
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        result.add(slug if n == 0 else '%s-%d' % (slug, n))
    return result


def broken_links(path, text, read):
    """Messages for the links of `text` (the file at `path`) that do not resolve; `read(path)`
    gives another file's text, or None if there is no such file."""
    problems = []
    here = os.path.dirname(path)
    for number, line in prose_lines(text):
        for m in LINK.finditer(line):
            target = m.group(1)
            if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', target):
                continue
            file_part, _, anchor = target.partition('#')
            where = os.path.normpath(os.path.join(here, file_part)) if file_part else path
            if file_part and not os.path.exists(where):
                problems.append('%s:%d: %s: no file %s' % (path, number, target, where))
                continue
            if anchor:
                if not where.endswith('.md'):
                    problems.append('%s:%d: %s: an anchor into a file that is not Markdown'
                                    % (path, number, target))
                    continue
                other = text if where == path else read(where)
                if other is None or anchor not in anchors(other):
                    problems.append('%s:%d: %s: no heading with anchor #%s in %s'
                                    % (path, number, target, anchor, where))
    return problems


def read_file(path):
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except OSError:
        return None


def documents(source):
    docs = os.path.join(source, 'docs')
    yield os.path.join(source, 'README.md')
    for name in sorted(os.listdir(docs)):
        if name.endswith('.md'):
            yield os.path.join(docs, name)


def self_test():
    """The checker sees a missing file, a missing anchor and a repeated heading's suffix."""
    text = ('# Title\n\n## Quick start (Debian 12)\n\n## Notes\n\n## Notes\n\n'
            'See [ok](#quick-start-debian-12), [second](#notes-1), [code](`x`),\n'
            '[bad](#quick-start), [gone](no-such-file.md), [web](https://example.org/x#y).\n'
            '```sh\n[in code](#nowhere)\n```\n`[in a span](#nowhere)`\n')
    got = broken_links('t.md', text, read_file)
    want = ['#quick-start: no heading', 'no-such-file.md: no file']
    ok = len(got) == 2 and all(w in g for w, g in zip(want, got))
    if not ok:
        print('self-test: expected two problems (%s), got %s' % (want, got))
    return ok


def main(argv):
    if len(argv) == 2 and argv[1] == '--self-test':
        return 0 if self_test() else 1
    if len(argv) != 2:
        print(__doc__.split('\n\n')[1])
        return 2
    if not self_test():
        return 1
    problems, count = [], 0
    for path in documents(argv[1]):
        text = read_file(path)
        if text is None:
            problems.append('%s: cannot be read' % path)
            continue
        count += 1
        problems += broken_links(path, text, read_file)
    for p in problems:
        print(p)
    print('%d documents, %s' % (count, '%d broken links' % len(problems) if problems
                                else 'every relative link and anchor resolves'))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
