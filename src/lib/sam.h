/* sam.h — a SAM v3 client: connecting, reading lines, parsing replies,
 * and the few commands e2e needs.
 *
 * Deadlines are absolute now_ms() values (e2e.h), 0 for none, as in io.c.
 * The line reader never consumes a byte past the newline, so a socket can
 * be handed to a child right after STREAM CONNECT / ACCEPT.
 *
 * The command functions return qmail's exit meanings: 0 done, 100
 * permanent (INVALID_KEY, KEY_NOT_FOUND, a malformed argument), 111
 * temporary (anything the router or the connection may get over:
 * CANT_REACH_PEER, TIMEOUT, I2P_ERROR, INVALID_ID, I/O errors, malformed
 * replies); s->err then says why, in printable ASCII. After a failure
 * close the socket: SAM closes it after most errors anyway. */
#ifndef E2E_SAM_H
#define E2E_SAM_H

#include <stddef.h>
#include <stdint.h>
#include "i2p.h"

#define SAM_DEFAULT "127.0.0.1:7656"
#define SAM_LINE_MAX 4096       /* longest line, newline excluded */
#define SAM_CMD_MAX 8192        /* longest command we send (i2pd's buffer) */
#define SAM_ERR_MAX 256
#define SAM_WORDS_MAX 2
#define SAM_PAIRS_MAX 16

/* ---- addresses and connections ---- */
/* "a.b.c.d:port", numeric IPv4 only, port 1..65535: 0 ok, -1 malformed. */
int sam_hostport(char const *s, unsigned char ip[4], uint16_t *port);
/* Connects to hostport (NULL or "": SAM_DEFAULT) by the deadline. Returns
 * a blocking, close-on-exec socket, or -1 (errno; EINVAL when hostport is
 * malformed, ETIMEDOUT). */
int sam_connect(char const *hostport, int64_t deadline);

/* ---- lines ---- */
#define SAM_BYTEWISE 1   /* read(2) one byte at a time instead of peeking */
/* Reads one line into out (max bytes: max-1 characters and a NUL), drops
 * its "\n" (and a "\r" before it); *len gets its length. Never reads past
 * the newline: a socket is peeked at (MSG_PEEK), anything else, or a
 * socket with SAM_BYTEWISE, is read a byte at a time. 0 ok, -1 with errno
 * ETIMEDOUT (deadline), EMSGSIZE (too long), EPIPE (EOF first), EPROTO
 * (a NUL byte), or the read error. */
int sam_getline(int fd, char *out, size_t max, size_t *len, unsigned int flags, int64_t deadline);
/* Writes all n bytes by the deadline (no SIGPIPE on sockets): 0 or -1. */
int sam_put(int fd, char const *s, size_t n, int64_t deadline);

/* ---- replies: WORD [WORD] KEY=VALUE ... ---- */
typedef struct sam_pair { char const *key, *value; } sam_pair;
typedef struct sam_reply {
  char const *word[SAM_WORDS_MAX];   /* "HELLO", "REPLY"; NULL when absent */
  unsigned int nwords;
  sam_pair pair[SAM_PAIRS_MAX];
  unsigned int npairs;
} sam_reply;
/* Splits line (NUL-terminated, no newline) in place. Words are upper
 * case letters; keys [A-Za-z0-9_.-]; values plain (printable, no '"') or
 * quoted ("..." with \" and \\ escapes, blanks allowed); pairs in any
 * order, no key twice; spaces between tokens. 0 ok, -1 malformed. */
int sam_reply_parse(sam_reply *r, char *line);
/* The value of key (case-insensitive), or NULL. */
char const *sam_reply_get(sam_reply const *r, char const *key);
/* 1 when the reply's words are exactly w1 w2. */
int sam_reply_is(sam_reply const *r, char const *w1, char const *w2);
/* A RESULT= value as an exit meaning: OK 0; INVALID_KEY, KEY_NOT_FOUND
 * 100; everything else, unknown values too, 111. */
int sam_result_class(char const *result);
/* What a RESULT= value means, in a few words. */
char const *sam_result_text(char const *result);
/* When line is "PING" or "PING text", writes "PONG[ text]\n" into out
 * (max bytes) and returns its length; else (or too long) returns 0. */
size_t sam_pong(char *out, size_t max, char const *line, size_t len);

/* ---- a conversation ---- */
typedef struct sam {
  int fd;
  unsigned int minor;                   /* version negotiated: 3.minor */
  sam_reply reply;                      /* the last reply, pointing into line */
  char const *peer;                     /* sam_accept_peer: base64 destination, in line */
  size_t peerlen;
  unsigned char peerdest[I2P_DEST_MAX]; /* ... decoded */
  i2p_dest peerd;
  unsigned int fromport, toport;        /* ... when SAM tells, else 0 */
  char err[SAM_ERR_MAX];
  char line[SAM_LINE_MAX + 1];
} sam;

void sam_init(sam *s);                  /* fd -1, nothing read */
void sam_close(sam *s);                 /* closes fd if open */
/* Connects and says HELLO VERSION MIN=3.1 MAX=3.3; the reply must be
 * RESULT=OK with a version in 3.1..3.3. */
int sam_open(sam *s, char const *hostport, int64_t deadline);
/* Sends cmd (a whole line with its "\n") and reads the reply, which must
 * begin with w1 w2; PINGs on the way are answered. 0 when the words
 * match and RESULT is OK or absent; else as RESULT says. */
int sam_command(sam *s, char const *cmd, size_t n, char const *w1, char const *w2, int64_t deadline);
/* SESSION CREATE STYLE=STREAM ID=id DESTINATION=priv [options]. id is
 * [A-Za-z0-9._-]{1,64}; options blank-separated KEY=VALUE words. Give it
 * a minute: i2pd answers after 20 s. */
int sam_session_create(sam *s, char const *id, char const *priv, char const *options, int64_t deadline);
/* STREAM CONNECT ID=id DESTINATION=dest SILENT=false [TO_PORT=port] on a
 * fresh connection; on 0 the stream follows on s->fd. */
int sam_stream_connect(sam *s, char const *id, char const *dest, unsigned int port, int64_t deadline);
/* STREAM ACCEPT ID=id SILENT=false; on 0 wait for sam_accept_peer. */
int sam_stream_accept(sam *s, char const *id, int64_t deadline);
/* Reads the peer's line after STREAM ACCEPT: its destination (checked,
 * decoded into peerdest), then optional FROM_PORT=n TO_PORT=n. A STREAM
 * STATUS line instead (the router went away) is 111. */
int sam_accept_peer(sam *s, int64_t deadline);
/* DEST GENERATE SIGNATURE_TYPE=sigtype: on 0, PUB and PRIV are in
 * s->reply, checked: PRIV is a private key whose destination is PUB.
 * The caller checks what type it got. */
int sam_dest_generate(sam *s, unsigned int sigtype, int64_t deadline);
/* NAMING LOOKUP NAME=name: on 0, VALUE (a checked destination) is in
 * s->reply. Not found (INVALID_KEY on i2pd, KEY_NOT_FOUND on Java) is
 * 100; for a b32 name it may only mean "not yet": the caller decides. */
int sam_naming_lookup(sam *s, char const *name, int64_t deadline);
/* One line on an idle control socket: a PING is answered (0); EOF or
 * anything else means the session is gone (111). */
int sam_control(sam *s, int64_t deadline);

#endif
