/* The queue's files: info/ID state files (qinfo_parse, round trip through
 * qinfo_fmt), ids (qid_valid, qid_time), status codes in error texts
 * (qstatus), and whole messages loaded from disk as the runner and
 * e2e-qstat do (qmsg_load: mess/ID with its info/ID; qmsg_load_new:
 * todo/ID). The first NUL splits the input: before it the info file,
 * after it the message file (an envelope, then the message). */
#include <sys/stat.h>
#include "fuzz.h"
#include "e2e.h"

static void info(char const *s, size_t n)
{
  qrcpt r[4], r2[4];
  int64_t queued, q2;
  int warned, w2;
  unsigned int k, i;
  char *buf = fz_copy((uint8_t const *)s, n), *out, st[16];
  for (k = 0; k <= 4; k++) {
    memcpy(buf, s, n);
    buf[n] = 0;
    if (!qinfo_parse(buf, n, k, &queued, &warned, r)) continue;
    FZ_CHECK(warned == 0 || warned == 1);
    for (i = 0; i < k; i++) {
      FZ_CHECK(r[i].state <= QR_BOUNCE);
      if (r[i].err) { qstatus(r[i].err, '5', st); FZ_CHECK(strlen(st) < 16); }
    }
    /* what parses, formats and parses back to the same state */
    {
      size_t len = qinfo_fmt(&out, queued, warned, r, k);
      FZ_CHECK(len);
      FZ_CHECK(qinfo_parse(out, len, k, &q2, &w2, r2));
      FZ_CHECK(q2 == queued && w2 == warned);
      for (i = 0; i < k; i++) {
        FZ_CHECK(r2[i].state == r[i].state && r2[i].tries == r[i].tries);
        FZ_CHECK(!r[i].err == !r2[i].err);
        free(r2[i].err);
      }
      free(out);
    }
    for (i = 0; i < k; i++) free(r[i].err);
  }
  qstatus(buf, '4', st);
  FZ_CHECK(strlen(st) < 16 && st[0] == '4');
  if (qid_valid(buf)) FZ_CHECK(qid_time(buf) >= 0);
  free(buf);
}

static void load(char const *infotext, size_t in, uint8_t const *mess, size_t mn)
{
  static int made;
  static char const id[] = "1700000000.123.4";
  qmsg *m;
  int r;
  if (!made) {
    char p[512];
    static char const *const sub[] = { "mess", "info", "todo" };
    unsigned int i;
    for (i = 0; i < 3; i++) { snprintf(p, sizeof p, "%s/%s", fz_dir(), sub[i]); mkdir(p, 0700); }
    made = 1;
  }
  fz_file("mess/1700000000.123.4", mess, mn);
  fz_file("todo/1700000000.123.4", mess, mn);
  fz_file("info/1700000000.123.4", infotext, in);
  r = qmsg_load(fz_dir(), id, &m);
  FZ_CHECK(r != -1 && (r != 0 || !mn));   /* 0: an emptied file (finished, being recycled) */
  if (r > 0) { FZ_CHECK(m->n >= 1 && m->n <= RCPT_MAX && m->elen <= mn); qmsg_free(m); }
  r = qmsg_load_new(fz_dir(), id, &m);
  FZ_CHECK(r == 1 || r == -2);
  if (r > 0) qmsg_free(m);
}

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  char *infotext;
  uint8_t const *rest;
  size_t rn;
  fz_split(d, n, &infotext, &rest, &rn);
  info(infotext, strlen(infotext));
  load(infotext, strlen(infotext), rest, rn);
  free(infotext);
  return 0;
}
