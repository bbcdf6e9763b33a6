/* Unit tests for src/lib/pop3c.c, the client side of POP3 (RFC 1939):
 * status lines, unique-ids, UIDL/LIST listing lines, and the data of a
 * multi-line reply decoded whole and in every split. */
#include <stdlib.h>
#include <string.h>
#include "e2e.h"
#include "tap.h"

#define S(lit) lit, sizeof lit - 1

static void status(void)
{
  static struct { char const *s; size_t n; int want; } const t[] = {
    { S("+OK"), 1 }, { S("+OK 2 messages (320 octets)"), 1 }, { S("+OK "), 1 },
    { S("-ERR"), 0 }, { S("-ERR no such message"), 0 }, { S("-ERR "), 0 },
    { S(""), -1 }, { S("+"), -1 }, { S("+O"), -1 }, { S("-ER"), -1 }, { S("+OKAY"), -1 },
    { S("-ERROR"), -1 }, { S("+ok"), -1 }, { S("-err"), -1 }, { S("OK"), -1 }, { S(" +OK"), -1 },
    { S("+OK\tgo"), -1 }, { S("-ERR\r"), -1 }, { S("+OK\0 x"), -1 }, { S("* OK"), -1 },
    { S("+ OK"), -1 }, { S("+OK\r\n"), -1 },
  };
  size_t i, k;
  for (i = 0; i < sizeof t / sizeof *t; i++) {
    char shown[64];
    for (k = 0; k < t[i].n && k < sizeof shown - 1; k++)
      shown[k] = (unsigned char)t[i].s[k] < 32 ? '?' : t[i].s[k];
    shown[k] = 0;
    ok(pop3_status(t[i].s, t[i].n) == t[i].want, "status \"%s\": %d", shown, t[i].want);
  }
  ok(pop3_status("+OKAY", 3) == 1, "status: only n bytes are looked at (\"+OK\" of \"+OKAY\")");
  ok(pop3_status("-ERRx", 4) == 0, "status: only n bytes are looked at (\"-ERR\" of \"-ERRx\")");
  ok(pop3_status("+OK", 2) == -1, "status: \"+O\" of \"+OK\" is neither");
}

static void uid(void)
{
  char u[POP3_UID_MAX + 2];
  unsigned int c, good = 0, bad = 0;
  size_t i;
  memset(u, 'a', sizeof u);
  ok(POP3_UID_MAX == 70, "POP3_UID_MAX is RFC 1939's 70");
  ok(!pop3_uid_valid(u, 0), "uid: empty is not valid");
  ok(pop3_uid_valid(u, 1), "uid: 1 character");
  ok(pop3_uid_valid(u, 70), "uid: 70 characters");
  ok(!pop3_uid_valid(u, 71), "uid: 71 characters are too many");
  for (c = 0; c < 256; c++) {
    u[0] = (char)c;
    u[69] = (char)c;
    if (c >= 0x21 && c <= 0x7e) good += pop3_uid_valid(u, 1) && pop3_uid_valid(u, 70);
    else bad += !pop3_uid_valid(u, 1) && !pop3_uid_valid(u, 70);
  }
  ok(good == 0x7e - 0x21 + 1, "uid: every byte 0x21..0x7e is valid, first or last of 70 (%u)", good);
  ok(bad == 256 - (0x7e - 0x21 + 1), "uid: every other byte is not (%u)", bad);
  ok(pop3_uid_valid("!", 1) && pop3_uid_valid("~", 1) && !pop3_uid_valid(" ", 1) && !pop3_uid_valid("\x7f", 1),
     "uid: the bounds 0x21 and 0x7e in, 0x20 and 0x7f out");
  memset(u, 'a', sizeof u);
  for (i = 0; i < 70; i++) {
    u[i] = ' ';
    if (pop3_uid_valid(u, 70)) break;
    u[i] = 'a';
  }
  ok(i == 70, "uid: a blank anywhere in 70 makes it invalid");
  ok(pop3_uid_valid("whqtswO00WBw418f9t5JxYwZ", 24), "uid: RFC 1939's example");
  ok(pop3_uid_valid("ab cd", 2), "uid: only n bytes are looked at");
  ok(!pop3_uid_valid("ab\0cd", 5), "uid: a NUL byte is not valid");
}

/* pop3_listing on a copy of s: its result, *num and the argument. */
static int listing(char const *s, unsigned int *num, char *arg, size_t argsize)
{
  char *l = strdup(s), *a = 0;
  int r;
  if (!l) abort();
  *num = 0;
  r = pop3_listing(l, num, &a);
  arg[0] = 0;
  if (!r) {
    if (a < l || a > l + strlen(s) || strlen(a) >= argsize) r = -99;   /* inside the line */
    else strcpy(arg, a);
  }
  free(l);
  return r;
}

static void listings(void)
{
  static struct { char const *s; unsigned int num; char const *arg; } const good[] = {
    { "1 whqtswO00WBw418f9t5JxYwZ", 1, "whqtswO00WBw418f9t5JxYwZ" }, { "2 320", 2, "320" },
    { "1000000 x", 1000000, "x" }, { "01 x", 1, "x" }, { "7 abc trailing words", 7, "abc" },
    { "3 a\tb", 3, "a\tb" }, { "6 \tx", 6, "\tx" }, { "4 0", 4, "0" }, { "5 x ", 5, "x" },
  };
  static char const *const bad[] = {
    "", "1", "1 ", " 1 x", "x 1", "1  x", "0 x", "00 x", "-1 x", "+1 x", "1\tx", "1000001 x",
    "4294967297 x", "18446744073709551617 x", "99999999999999999999999999 x", "1x y", "0x1 y", " ",
  };
  char arg[128], line[16];
  unsigned int num;
  size_t i;
  char *a;
  for (i = 0; i < sizeof good / sizeof *good; i++)
    ok(listing(good[i].s, &num, arg, sizeof arg) == 0 && num == good[i].num && !strcmp(arg, good[i].arg),
       "listing \"%s\": %u \"%s\"", good[i].s, good[i].num, good[i].arg);
  for (i = 0; i < sizeof bad / sizeof *bad; i++)
    ok(listing(bad[i], &num, arg, sizeof arg) == -1, "listing \"%s\": malformed", bad[i]);
  strcpy(line, "12 ab cd");
  ok(pop3_listing(line, &num, &a) == 0 && a == line + 3 && !memcmp(line, "12\0ab\0cd", 9),
     "listing: split in place (NULs after the number and the argument)");
}

/* ---- the body decoder ---- */
/* The input, the message it gives, the bytes after the end (not taken),
 * whether the end was found. */
struct want { char const *in; size_t n; char const *out; size_t on; size_t rest; int done; char const *what; };

/* Feeds in[] in the pieces given by the bits of cuts (bit i: a cut after
 * byte i), each into an exact-size buffer; 1 when output, bytes taken and
 * the end all match. */
static int fed(struct want const *w, unsigned long cuts, char *got)
{
  pop3_body b;
  size_t i = 0, j, took = 0, on = 0;
  pop3_body_init(&b);
  while (i < w->n) {
    char *out;
    size_t k, o = 12345;
    for (j = i + 1; j < w->n && !(cuts >> (j - 1) & 1); j++) ;
    if (!(out = malloc(j - i + 1))) abort();
    k = pop3_body_feed(&b, w->in + i, j - i, out, &o);
    if (k > j - i || o > j - i + 1 || (k < j - i && !pop3_body_done(&b))) { free(out); return 0; }
    memcpy(got + on, out, o);
    on += o;
    took += k;
    free(out);
    i = j;
  }
  return on == w->on && !memcmp(got, w->out, on) && took == w->n - w->rest && pop3_body_done(&b) == w->done;
}

static void body_cases(void)
{
  static struct want const t[] = {
    { S("hello\r\nworld\r\n.\r\n"), S("hello\nworld\n"), 0, 1, "two lines, CRLF to LF" },
    { S(".\r\n"), S(""), 0, 1, "an empty message" },
    { S("\r\n.\r\n"), S("\n"), 0, 1, "one empty line" },
    { S("..dot\r\n...\r\n..\r\n.\r\n"), S(".dot\n..\n.\n"), 0, 1, "stuffed dots removed" },
    { S("a.b\r\n a.\r\n.\r\n"), S("a.b\n a.\n"), 0, 1, "dots not at a line start kept" },
    { S(".x\r\n.\r\n"), S("x\n"), 0, 1, "an unstuffed dot at a line start dropped" },
    { S("a\rb\r\n\r\r\n.\r\n"), S("a\rb\n\r\n"), 0, 1, "bare CR kept, CR CR LF: CR LF" },
    { S("a\nb\r\n.\r\n"), S("a\nb\n"), 0, 1, "bare LF kept" },
    { S("a\n..b\r\n.\r\n"), S("a\n.b\n"), 0, 1, "a bare LF starts a line: stuffed dot after it" },
    { S("a\r.\r\n.\r\n"), S("a\r.\n"), 0, 1, "a dot after a bare CR is not at a line start" },
    { S(".\r.\r\n.\r\n"), S("\r.\n"), 0, 1, "\".\" CR \".\": the dot dropped, CR kept" },
    { S(".\r\r\n.\r\n"), S("\r\n"), 0, 1, "the line \".\" CR: CR" },
    { S("a\r\n.\nmore"), S("a\n"), 4, 1, "\".\" bare LF ends it too" },
    { S("x\r\n.\r\n+OK next\r\n"), S("x\n"), 10, 1, "bytes after the end not taken" },
    { S("x\r\n.\r\n.\r\n"), S("x\n"), 3, 1, "a second \".\" line not taken" },
    { S("abc\r\n.\r"), S("abc\n"), 0, 0, "\".\" CR without LF: not the end yet" },
    { S("abc\r\n."), S("abc\n"), 0, 0, "\".\" alone: not the end yet" },
    { S("x\r"), S("x"), 0, 0, "a last CR held back" },
    { S("x\r\r"), S("x\r"), 0, 0, "CR CR: the first comes out, the second held" },
    { S("\r\n\r\n.\r\n"), S("\n\n"), 0, 1, "two empty lines" },
    { S("a\0b\r\n.\r\n"), S("a\0b\n"), 0, 1, "a NUL byte is data" },
    { S("\xff\x80\r\n.\r\n"), S("\xff\x80\n"), 0, 1, "8-bit bytes are data" },
    { S("..\r\n.\r\n"), S(".\n"), 0, 1, "a line of one stuffed dot" },
    { S(".\r\nx"), S(""), 1, 1, "the end first, a byte after it" },
    { S(""), S(""), 0, 0, "nothing fed" },
  };
  char got[64];
  size_t i;
  for (i = 0; i < sizeof t / sizeof *t; i++) {
    unsigned long c, all = t[i].n ? 1ul << (t[i].n - 1) : 1, fails = 0;
    for (c = 0; c < all; c++) fails += !fed(t + i, c, got);
    ok(!fails, "body: %s (all %lu splits; %lu wrong)", t[i].what, all, fails);
  }
}

static void body_feed(void)
{
  pop3_body b;
  char out[8];
  size_t on = 99;
  pop3_body_init(&b);
  ok(!pop3_body_done(&b), "body: not done after init");
  ok(pop3_body_feed(&b, "x\r", 2, out, &on) == 2 && on == 1 && out[0] == 'x', "body: \"x\" CR gives \"x\"");
  ok(pop3_body_feed(&b, "y", 1, out, &on) == 1 && on == 2 && !memcmp(out, "\ry", 2),
     "body: the held CR comes out with the next byte: 2 bytes out of 1 in (room for n + 1)");
  ok(pop3_body_feed(&b, "\r\n.", 3, out, &on) == 3 && on == 1 && out[0] == '\n' && !pop3_body_done(&b),
     "body: CRLF \".\": LF, not done");
  ok(pop3_body_feed(&b, "", 0, out, &on) == 0 && on == 0 && !pop3_body_done(&b), "body: 0 bytes fed: nothing");
  ok(pop3_body_feed(&b, "\r\nAB", 4, out, &on) == 2 && on == 0 && pop3_body_done(&b),
     "body: CRLF ends it: 2 of 4 taken");
  ok(pop3_body_feed(&b, "more", 4, out, &on) == 0 && on == 0 && pop3_body_done(&b),
     "body: after the end nothing is taken");
  pop3_body_init(&b);
  ok(!pop3_body_done(&b) && pop3_body_feed(&b, "z\r\n.\r\n", 6, out, &on) == 6 && on == 2 && pop3_body_done(&b),
     "body: init starts again");
}

int main(void)
{
  status();
  uid();
  listings();
  body_cases();
  body_feed();
  return done();
}
