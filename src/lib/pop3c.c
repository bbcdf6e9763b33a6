/* pop3c.c — the client side of POP3 (RFC 1939), for e2e-popfetch: status
 * lines, UIDL and LIST lines, and a multi-line reply's data turned back
 * into the message (dots unstuffed, CRLF to LF, the final "." found). */
#include <string.h>
#include "e2e.h"

int pop3_status(char const *line, size_t n)
{
  if (n >= 3 && !memcmp(line, "+OK", 3) && (n == 3 || line[3] == ' ')) return 1;
  if (n >= 4 && !memcmp(line, "-ERR", 4) && (n == 4 || line[4] == ' ')) return 0;
  return -1;
}

int pop3_uid_valid(char const *s, size_t n)
{
  size_t i;
  if (!n || n > POP3_UID_MAX) return 0;
  for (i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return 0;
  return 1;
}

int pop3_listing(char *line, unsigned int *num, char **arg)
{
  char *sp = strchr(line, ' ');
  uint64_t v;
  if (!sp) return -1;
  *sp = 0;
  if (!scan_u64(line, POP3_MSGS_MAX, &v) || !v) return -1;
  *num = (unsigned int)v;
  *arg = sp + 1;
  sp = strchr(*arg, ' ');   /* RFC 1939: anything after the argument is ignored */
  if (sp) *sp = 0;
  return **arg ? 0 : -1;
}

/* ---- the data of a multi-line reply ---- */
enum { B_BOL, B_MID, B_CR, B_DOT, B_DOTCR, B_END };

void pop3_body_init(pop3_body *b) { b->state = B_BOL; }
int pop3_body_done(pop3_body const *b) { return b->state == B_END; }

size_t pop3_body_feed(pop3_body *b, char const *in, size_t n, char *out, size_t *outlen)
{
  size_t i, o = 0;
  for (i = 0; i < n && b->state != B_END; i++) {
    char c = in[i];
    switch (b->state) {
      case B_BOL:
        if (c == '.') { b->state = B_DOT; continue; }
        break;
      case B_CR:   /* a CR held back: it ends the line when LF follows */
        if (c == '\n') { out[o++] = '\n'; b->state = B_BOL; continue; }
        out[o++] = '\r';
        if (c == '\r') continue;
        break;
      case B_DOT:   /* "." at a line start: the end, or a stuffed dot */
        if (c == '\r') { b->state = B_DOTCR; continue; }
        if (c == '\n') { b->state = B_END; continue; }
        break;
      case B_DOTCR:
        if (c == '\n') { b->state = B_END; continue; }
        out[o++] = '\r';
        if (c == '\r') { b->state = B_CR; continue; }
        break;
    }
    if (c == '\r') b->state = B_CR;
    else { out[o++] = c; b->state = c == '\n' ? B_BOL : B_MID; }
  }
  *outlen = o;
  return i;
}
