/* e2e — the mail-side helper library shared by the programs.
 * I2P formats and the SAM client live in i2p.h and sam.h. */
#ifndef E2E_H
#define E2E_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* qmail's exit meanings, everywhere */
#define E2E_OK 0
#define E2E_PERM 100
#define E2E_TEMP 111

/* ---- env.c: settings from the environment ---- */
/* The value, or dflt when unset or empty. */
char const *env_str(char const *name, char const *dflt);
/* A required variable: dies 100 naming it when unset or empty. */
char const *env_need(char const *name);
/* An unsigned number in [min, max]; dflt when unset; dies 100 when malformed. */
uint64_t env_uint(char const *name, uint64_t dflt, uint64_t min, uint64_t max);
/* Parses a whole decimal string; 1 ok, 0 malformed or out of range. */
int scan_u64(char const *s, uint64_t max, uint64_t *out);

/* ---- clock.c: monotonic milliseconds for deadlines ---- */
int64_t now_ms(void);

/* ---- io.c: reading lines and writing with deadlines ---- */
typedef struct wbuf {
  int fd;
  size_t n;
  int64_t deadline;   /* absolute now_ms(); 0 = none */
  int err;            /* sticky: a write failed or timed out */
  char buf[4096];
} wbuf;

typedef struct rbuf {
  int fd;
  size_t p, n;
  wbuf *flush;        /* flushed before blocking on a read (PIPELINING) */
  char buf[8192];
} rbuf;

#define LINE_ERR  (-1)  /* errno: ETIMEDOUT or the read error */
#define LINE_EOF  0     /* end of input (a partial line is dropped) */
#define LINE_OK   1     /* a line ending in \n, *len includes the \n */
#define LINE_LONG 2     /* longer than max: read and dropped through its \n */

void rbuf_init(rbuf *b, int fd, wbuf *flush);
/* Reads one line ending in '\n' into out (max bytes at most, including the
 * '\n'), by the absolute deadline (0: none). */
int line_get(rbuf *b, char *out, size_t max, size_t *len, int64_t deadline);
/* Reads up to n raw bytes (at least 1) by the deadline; 0 at EOF, -1 error. */
ssize_t rbuf_get(rbuf *b, char *out, size_t n, int64_t deadline);
/* Bytes already buffered and not yet taken. */
size_t rbuf_pending(rbuf const *b);

void wbuf_init(wbuf *w, int fd);
void wbuf_put(wbuf *w, char const *s, size_t n);
void wbuf_puts(wbuf *w, char const *s);
int wbuf_flush(wbuf *w);           /* 0 ok, -1 (w->err set) */

/* Whole-buffer write to an fd, retrying on EINTR and short writes. */
int write_all(int fd, char const *s, size_t n);
/* Reads an fd up to EOF into a malloc'd buffer (at most max bytes, else
 * errno=EFBIG), with a \0 after the data; -1 on error. */
int read_all(int fd, char **out, size_t *len, size_t max);
/* Reads a small file whole (at most max bytes); -1 on error (errno). */
int file_read(char const *path, char **out, size_t *len, size_t max);

/* ---- durable.c: crash-safe files ---- */
/* fsync of the directory holding a name (or the directory itself). */
int fsync_dir(char const *dir);
/* Writes path atomically: dir/.tmp-name, fsync, rename, fsync dir. */
int file_replace(char const *path, char const *data, size_t len, mode_t mode);

/* ---- addr.c: mail addresses ---- */
#define ADDR_MAX 256     /* local@domain plus NUL */
#define ADDR_LOCALMAX 64
#define ADDR_DOMAINMAX 255
/* Checks and normalises a bare address (no brackets): the domain is
 * lower-cased. Returns 0 ok, or one of the ADDR_E* reasons. */
#define ADDR_ESYNTAX 1
#define ADDR_ELOCAL  2   /* local part too long */
#define ADDR_EDOMAIN 3   /* domain too long or malformed */
#define ADDR_EROUTE  4   /* source routes, %, !, IP literals, quoted local parts */
int addr_check(char const *in, size_t len, char *out);
char const *addr_reason(int e);
/* The domain part of a checked address (after the last '@'). */
char const *addr_domain(char const *a);
/* Copies the local part lower-cased into out (ADDR_LOCALMAX+1 bytes). */
void addr_local(char const *a, char *out);
/* Does the domain end in ".i2p"? */
int domain_is_i2p(char const *d);

/* ---- users.c: HOME/users, "name:crypt-hash" lines ---- */
#define USER_MAX 64
/* A name fit for a user: [a-z0-9._-], 1..64, not starting with '.' or '-'. */
int user_valid(char const *name);
/* Finds name's hash; 1 found (hash copied, up to hmax), 0 absent, -1 error. */
int user_hash(char const *home, char const *name, char *hash, size_t hmax);
/* Checks a password against the users file in constant time for the
 * comparison; 1 right, 0 wrong or no such user, -1 error. */
int user_check(char const *home, char const *name, char const *pw);
/* The user mail for postmaster goes to: $E2E_POSTMASTER, else the first
 * user of HOME/users. 1 found, 0 none, -1 error. */
int user_postmaster(char const *home, char *out);

/* ---- domains.c: which domains are ours ---- */
/* 1 when d is E2E_DOMAIN, a line of HOME/domains, or our own b32 domain
 * (HOME/b32), 0 when not, -1 on a read error. d must be lower case. */
int domain_local(char const *home, char const *d);

/* ---- envelope.c: qmail-queue's envelope, Fsender\0Trcpt\0...\0 ---- */
#define RCPT_MAX 100
typedef struct envelope {
  char const *sender;
  char const *rcpt[RCPT_MAX];
  unsigned int n;
} envelope;
/* Parses buf (not copied: fields point into it). Returns the number of
 * bytes the envelope took (ending at its final \0), or 0 when malformed. */
size_t envelope_parse(envelope *e, char const *buf, size_t len);
/* Appends the encoded envelope to out (size max); returns its length or 0. */
size_t envelope_fmt(envelope const *e, char *out, size_t max);

/* ---- maildir.c ---- */
/* Unique id: "<sec>.M<usec>P<pid>" (Maildir style). out: 48 bytes. */
void unique_id(char *out);
/* Delivers data into dir (a Maildir) as new/<base>,S=<size>,W=<crlfsize>,
 * unless a message of that base is already in new/ or in cur/ (then it
 * returns 1: already delivered). 0 delivered, -1 error (errno). */
int maildir_put(char const *dir, char const *base, char const *head, size_t hlen,
                int fd, char const *body, size_t blen);
/* Creates dir/{tmp,new,cur} (mode 0700) as far as missing. */
int maildir_make(char const *dir);

/* ---- log.c ---- */
/* Copies at most max-1 bytes of s into out, bytes outside 33..126 as '?'. */
char *safe(char *out, size_t max, char const *s, size_t len);
/* One line on stderr: "PROG: " then the pieces. */
void logn(char const *const *v, unsigned int n);
#define log1(a) do { char const *lv_[] = { (a) }; logn(lv_, 1); } while (0)
#define log2(a,b) do { char const *lv_[] = { (a),(b) }; logn(lv_, 2); } while (0)
#define log3(a,b,c) do { char const *lv_[] = { (a),(b),(c) }; logn(lv_, 3); } while (0)
#define log4(a,b,c,d) do { char const *lv_[] = { (a),(b),(c),(d) }; logn(lv_, 4); } while (0)
#define log6(a,b,c,d,e,f) do { char const *lv_[] = { (a),(b),(c),(d),(e),(f) }; logn(lv_, 6); } while (0)

/* ---- child.c: running the next stage ---- */
/* Maps a waitpid status to 0/100/111 (crash or other code: 111). */
int exit_class(int status);

/* ---- queue layout (docs/queue.md) ---- */
#define QDIR_TMP "tmp"
#define QDIR_TODO "todo"
#define QDIR_MESS "mess"
#define QDIR_INFO "info"
#define QDIR_BOUNCE "bounce"
#define QTRIGGER "trigger"

#endif
