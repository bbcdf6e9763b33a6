/* Unit tests of the queue helpers (src/lib/queue.c, queuestore.c). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "e2e.h"
#include "tap.h"

char const *PROG = "unit-queue";

static void test_ids(void)
{
  ok(qid_valid("1795000000.M123456P4242"), "a queue id");
  ok(qid_valid("1795000000.M123456P4242C2"), "with a counter");
  ok(!qid_valid(".tmp.1795000000.M1P1"), "not a dot file");
  ok(!qid_valid("a/b") && !qid_valid("a:2,S") && !qid_valid(""), "no slash, colon, comma, nothing");
  ok(qid_time("1795000000.M1P1") == 1795000000, "the seconds of an id");
  ok(qid_time("x.M1P1") == 0, "no seconds");
}

static void test_info(void)
{
  qrcpt r[3], p[3];
  char *out, buf[512];
  size_t n;
  int64_t q;
  int w;
  memset(r, 0, sizeof r);
  r[0].state = QR_DONE;
  r[1].state = QR_TODO; r[1].tries = 3; r[1].next = 1795000123456; r[1].err = "451 4.4.1 later\nX-Evil: 1";
  r[2].state = QR_BOUNCE; r[2].err = "no such user here (#5.1.1)";
  n = qinfo_fmt(&out, 1795000000, 1, r, 3);
  ok(n > 0, "formatted");
  ok(!strcmp(out, "e2e-info 1\nqueued 1795000000\nwarned 1\nR done 0 0 \n"
                  "R todo 3 1795000124 451 4.4.1 later?X-Evil: 1\nR bounce 0 0 no such user here (#5.1.1)\n"),
     "the format of docs/queue.md; next rounded up to seconds; one line per error");
  memcpy(buf, out, n + 1);
  ok(qinfo_parse(buf, n, 3, &q, &w, p) == 1, "parsed back");
  ok(q == 1795000000 && w == 1, "queued and warned");
  ok(p[0].state == QR_DONE && !p[0].err, "done, no error");
  ok(p[1].state == QR_TODO && p[1].tries == 3 && p[1].next == 1795000124000, "todo, tries, next");
  ok(p[1].err && !strcmp(p[1].err, "451 4.4.1 later?X-Evil: 1"), "the error");
  ok(p[2].state == QR_BOUNCE && !strcmp(p[2].err, "no such user here (#5.1.1)"), "bounce");
  free(p[1].err); free(p[2].err);
  memcpy(buf, out, n + 1);
  ok(qinfo_parse(buf, n, 2, &q, &w, p) == 0, "more lines than recipients: malformed");
  memcpy(buf, out, n + 1);
  ok(qinfo_parse(buf, n, 4, &q, &w, p) == 0, "fewer lines than recipients: malformed");
  strcpy(buf, "e2e-info 1\nqueued 1\nwarned 2\nR done 0 0 \n");
  ok(qinfo_parse(buf, strlen(buf), 1, &q, &w, p) == 0, "warned 2: malformed");
  strcpy(buf, "e2e-info 1\nqueued 1\nwarned 0\nR gone 0 0 \n");
  ok(qinfo_parse(buf, strlen(buf), 1, &q, &w, p) == 0, "unknown state: malformed");
  strcpy(buf, "e2e-info 1\nqueued 1\nwarned 0\nR todo 1 5 x");
  ok(qinfo_parse(buf, strlen(buf), 1, &q, &w, p) == 0, "no final newline: malformed");
  strcpy(buf, "e2e-info 2\nqueued 1\nwarned 0\n");
  ok(qinfo_parse(buf, strlen(buf), 0, &q, &w, p) == 0, "another version: malformed");
  free(out);
}

static void test_status(void)
{
  char s[16];
  qstatus("no such user here (#5.1.1)", '5', s); ok(!strcmp(s, "5.1.1"), "#5.1.1");
  qstatus("550 5.7.1 go away", '5', s); ok(!strcmp(s, "5.7.1"), "an SMTP reply's code");
  qstatus("451 4.4.1 later", '5', s); ok(!strcmp(s, "5.4.1"), "class forced to 5 for a bounce");
  qstatus("550 5.1.1 x", '4', s); ok(!strcmp(s, "4.1.1"), "class forced to 4 for a notice");
  qstatus("version 1.2.3 of x", '5', s); ok(!strcmp(s, "5.0.0"), "1.2.3 is no status");
  qstatus("e2e-remote: unable to run", '4', s); ok(!strcmp(s, "4.0.0"), "none: 4.0.0");
  qstatus(0, '5', s); ok(!strcmp(s, "5.0.0"), "no text: 5.0.0");
  qstatus("x 5.1234.1", '5', s); ok(!strcmp(s, "5.0.0"), "too many digits");
}

static void test_heap(void)
{
  qheap h = { 0, 0, 0 };
  qmsg m[50];
  int64_t last = INT64_MIN;
  unsigned int i, bad = 0;
  for (i = 0; i < 50; i++) { memset(&m[i], 0, sizeof m[i]); m[i].hidx = -1; m[i].due = (i * 37) % 50; qheap_put(&h, &m[i]); }
  m[10].due = -5; qheap_put(&h, &m[10]);
  qheap_del(&h, &m[20]);
  ok(h.n == 49 && m[20].hidx == -1, "put, move and delete");
  ok(h.v[0] == &m[10], "the earliest first");
  while (h.n) { qmsg *x = h.v[0]; if (x->due < last) bad++; last = x->due; qheap_del(&h, x); }
  ok(!bad, "popped in order");
  free(h.v);
}

int main(void)
{
  test_ids();
  test_info();
  test_status();
  test_heap();
  return done();
}
