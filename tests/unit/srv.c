/* Unit tests for src/lib/srv.c: service record values (I2P proposal 167),
 * NAMING REPLY lines carrying them, and the order records are tried in. */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "e2e.h"

static srv_rec r[SRV_MAX];
static unsigned int n;
static char const *why;

static int parse(char const *v) { return srv_parse(v, r, SRV_MAX, &n, &why); }

static void good(void)
{
  ok(parse("0 86400 25") == 0 && n == 1 && r[0].self && r[0].ttl == 86400 && r[0].port == 25, "self record");
  ok(parse("0 999999 0 example@mail.i2p") == 0 && n == 1 && r[0].self && r[0].port == 0, "self record, port 0, app options");
  ok(parse("1 86400 0 0 25 bob.i2p") == 0 && n == 1 && !r[0].self && r[0].priority == 0 && r[0].weight == 0
     && r[0].port == 25 && !strcmp(r[0].target, "bob.i2p"), "one record");
  ok(parse("1 86400 0 0 25 smtp.postman.i2p example@mail.i2p") == 0 && n == 1
     && !strcmp(r[0].target, "smtp.postman.i2p"), "record with app options (the proposal's example)");
  ok(parse("1 86400 0 0 25 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p,"
           "1 3600 1 5 2525 c.i2p") == 0 && n == 2 && r[1].ttl == 3600 && r[1].priority == 1 && r[1].weight == 5
     && r[1].port == 2525, "two records");
  ok(parse("1 86400 0 0 25 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p,"
           "86400 1 0 25 qaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p") == 0 && n == 2
     && r[1].priority == 1, "second record without its 1 (the proposal's example)");
  ok(parse("1 86400 0 0 25 a.i2p, 1 86400 0 0 25 b.i2p") == 0 && n == 2, "a blank after the comma");
  ok(parse("1 2147483647 65535 65535 65535 a.i2p") == 0 && r[0].ttl == 2147483647u, "largest numbers");
}

static void bad(void)
{
  static char const *const v[] = {
    "", " ", ",", "0", "0 86400", "0 0 25", "0 86400 65536", "0 086400 25", "0 +1 25", "0 86400 25 a b",
    "0 86400 25,0 86400 25", "0 86400 25,1 86400 0 0 25 a.i2p", "1 86400 0 0 25 a.i2p,0 86400 25",
    "2 86400 0 0 25 a.i2p", "1 86400 0 0 25", "1 86400 0 0 a.i2p 25", "1 0 0 0 25 a.i2p",
    "1 2147483648 0 0 25 a.i2p", "1 86400 65536 0 25 a.i2p", "1 86400 0 65536 25 a.i2p",
    "1 86400 0 0 25 A.i2p", "1 86400 0 0 25 example.com", "1 86400 0 0 25 a..i2p", "1 86400 0 0 25 -a.i2p",
    "1 86400 0 0 25 i2p", "1 86400 0 0 25 abc.b32.i2p",
    "1 86400 0 0 25 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p",
    "1 86400 0 0 25 a.i2p x y", "1 86400 0 0 25 a.i2p,", "1 86400 0 0 25 a.i2p,,1 86400 0 0 25 b.i2p",
    "1 86400 0 0 25 a.i2p\t", "1 86400 0 0 25 a.i2p\n", "1 86400 0 0 25 a.i2p,86400 0 0 25",
    "86400 0 0 25 a.i2p", "1 86400 0 0 25 a.i2p a\x7f",
  };
  char big[SRV_VALUE_MAX + 64], many[(SRV_MAX + 1) * 20];
  size_t i;
  for (i = 0; i < sizeof v / sizeof *v; i++) {
    char shown[128];
    size_t k;
    for (k = 0; v[i][k] && k < sizeof shown - 1; k++) shown[k] = v[i][k] < 32 || v[i][k] == 127 ? '?' : v[i][k];
    shown[k] = 0;
    why = 0;
    ok(parse(v[i]) < 0 && why && *why, "malformed: \"%s\" (%s)", shown, why ? why : "?");
  }
  many[0] = 0;
  for (i = 0; i < SRV_MAX; i++) strcat(many, i ? ",1 1 0 0 25 a.i2p" : "1 1 0 0 25 a.i2p");
  ok(parse(many) == 0 && n == SRV_MAX, "%d records: taken", SRV_MAX);
  strcat(many, ",1 1 0 0 25 a.i2p");
  ok(parse(many) < 0 && !strcmp(why, "too many records"), "%d records: too many", SRV_MAX + 1);
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = 0;
  memcpy(big, "0 1 25 ", 7);
  ok(parse(big) < 0, "a value over SRV_VALUE_MAX");
}

static void reply(void)
{
  char line[512];
  char const *res, *val, *opt;
  strcpy(line, "NAMING REPLY RESULT=OK NAME=a.i2p VALUE=xyz OPTION:i2cp.x=1 OPTION:_smtp._tcp=\"0 86400 25\" OPTION:z=\"a \\\" b\"");
  ok(srv_naming_reply(line, "_smtp._tcp", &res, &val, &opt) == 0 && !strcmp(res, "OK") && !strcmp(val, "xyz")
     && !strcmp(opt, "0 86400 25"), "reply with options: RESULT, VALUE, the record");
  strcpy(line, "NAMING REPLY RESULT=OK NAME=a.i2p VALUE=xyz");
  ok(srv_naming_reply(line, "_smtp._tcp", &res, &val, &opt) == 0 && val && !opt, "reply without options (i2pd 2.45.1)");
  strcpy(line, "NAMING REPLY RESULT=LEASESET_NOT_FOUND NAME=a.i2p");
  ok(srv_naming_reply(line, "_smtp._tcp", &res, &val, &opt) == 0 && !strcmp(res, "LEASESET_NOT_FOUND") && !val,
     "LEASESET_NOT_FOUND");
  strcpy(line, "NAMING REPLY RESULT=OK VALUE=x OPTION:_smtp._tcp=\"1 2\\\\ 3\"");
  ok(srv_naming_reply(line, "_smtp._tcp", &res, &val, &opt) == 0 && !strcmp(opt, "1 2\\ 3"), "escapes in a quoted value");
  ok(srv_naming_reply(strcpy(line, "NAMING REPLY RESULT=OK VALUE=x OPTION:_smtp._udp=\"0 1 2\""), "_smtp._tcp", &res, &val,
                      &opt) == 0 && !opt, "another service's record: not taken");
  static char const *const badl[] = {
    "", "NAMING", "NAMING LOOKUP RESULT=OK", "STREAM STATUS RESULT=OK", "NAMING REPLY EXTRA RESULT=OK",
    "NAMING REPLY RESULT=OK OPTION:_smtp._tcp=\"0 1 2", "NAMING REPLY RESULT=OK VALUE=a VALUE=b",
    "NAMING REPLY RESULT=OK RESULT=OK", "NAMING REPLY RESULT=OK OPTION:_smtp._tcp=\"0 1 2\"x",
    "NAMING REPLY RESULT=OK OPTION:_smtp._tcp=1 OPTION:_smtp._tcp=2", "NAMING REPLY RESULT=O\"K",
  };
  size_t i;
  for (i = 0; i < sizeof badl / sizeof *badl; i++)
    ok(srv_naming_reply(strcpy(line, badl[i]), "_smtp._tcp", &res, &val, &opt) < 0, "malformed reply: %s", badl[i]);
}

static uint32_t seq[64];
static unsigned int seqn;
static uint32_t fixed(void) { return seq[seqn++ % 64]; }

static void order(void)
{
  unsigned int i, heavy = 0;
  ok(parse("1 1 5 0 25 e.i2p,1 1 1 0 25 b.i2p,1 1 9 0 25 f.i2p,1 1 1 0 25 c.i2p,1 1 0 0 25 a.i2p") == 0, "five records");
  srv_order(r, n, fixed);
  ok(!strcmp(r[0].target, "a.i2p") && r[1].priority == 1 && r[2].priority == 1 && !strcmp(r[3].target, "e.i2p")
     && !strcmp(r[4].target, "f.i2p"), "ordered by priority");
  for (i = 0; i < 64; i++) seq[i] = (uint32_t)rand();
  for (i = 0; i < 200; i++) {
    parse("1 1 3 1 25 light.i2p,1 1 3 99 25 heavy.i2p,1 1 4 1000 25 later.i2p");
    srv_order(r, n, fixed);
    if (!strcmp(r[0].target, "heavy.i2p")) heavy++;
    if (strcmp(r[2].target, "later.i2p")) break;
  }
  ok(i == 200, "a higher priority never comes first, whatever the weights");
  ok(heavy > 170 && heavy < 200, "weight 99 against 1: first %u times of 200", heavy);
  memset(seq, 0, sizeof seq);
  parse("1 1 0 5 25 w.i2p,1 1 0 0 25 z.i2p");
  srv_order(r, n, fixed);
  ok(!strcmp(r[0].target, "z.i2p"), "a zero random number picks the zero-weight record (it goes first)");
  parse("1 1 0 0 25 a.i2p");
  srv_order(r, 0, fixed);
  srv_order(r, 1, fixed);
  ok(!strcmp(r[0].target, "a.i2p"), "one record: unchanged");
}

int main(void)
{
  srand(7);
  good();
  bad();
  reply();
  order();
  return done();
}
