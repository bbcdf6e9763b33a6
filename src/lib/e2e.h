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
/* e2e-queue only (qmail-queue's 53): write error or disk full; temporary */
#define E2E_NOSPACE 53
/* a content filter in front of the queue (e2e-spamfilter) refused the
 * message (qmail-queue's 31): permanent, e2e-smtpd answers 554 5.7.1 */
#define E2E_REFUSED 31

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
  char buf[16384];    /* a 4 KiB message and its header in one write */
} wbuf;

typedef struct rbuf {
  int fd;
  size_t p, n;
  wbuf *flush;        /* flushed before blocking on a read (PIPELINING) */
  char buf[8192];
} rbuf;

#define LINE_ERR  (-1)  /* errno: ETIMEDOUT, EMSGSIZE, or the read error */
#define LINE_EOF  0     /* end of input (a partial line is dropped) */
#define LINE_OK   1     /* a line ending in \n, *len includes the \n */
#define LINE_LONG 2     /* longer than max: read and dropped through its \n */
/* An overlong line is dropped up to this many bytes past max; when no \n
 * comes by then, LINE_ERR with errno EMSGSIZE (the rest stays unread):
 * hang up. */
#define LINE_DROP_MAX 65536

/* Waits until fd is ready for events (POLLIN, POLLOUT) or the absolute
 * deadline passes (errno ETIMEDOUT); 0 = no deadline. 0 ready, -1 error. */
int fd_wait(int fd, short events, int64_t deadline);

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
/* Closes fd (when >= 0) keeping errno; returns -1: `return close_fail(fd);` */
int close_fail(int fd);
/* Reads an fd up to EOF into a malloc'd buffer (at most max bytes, else
 * errno=EFBIG), with a \0 after the data; -1 on error. */
int read_all(int fd, char **out, size_t *len, size_t max);
/* Reads a small file whole (at most max bytes); -1 on error (errno). */
int file_read(char const *path, char **out, size_t *len, size_t max);
/* Reads a file whole into buf when it is shorter than cap: 1 and *len; 0
 * when it is not (nothing usable in buf); -1 on error (errno). */
int file_read_into(char const *path, char *buf, size_t cap, size_t *len);
/* Room for more in a malloc'd array of elements of size bytes that
 * doubles as it fills (first elements at first): the new array, *alloc
 * updated; 0 when out of memory (p still valid). */
void *grow(void *p, size_t *alloc, size_t size, size_t first);

/* ---- durable.c: crash-safe files ---- */
/* fsync of the directory holding a name (or the directory itself). */
int fsync_dir(char const *dir);
/* Writes path atomically: dir/.t<pid>.name, fsync, rename, fsync dir. */
int file_replace(char const *path, char const *data, size_t len, mode_t mode);
/* Moves the entries of directory src (names not starting with '.') into
 * directory dst so that a power cut never leaves one in neither: every one
 * linked, dst synced once, then the src names removed. name() gives an
 * entry's dst name (0: leave it alone). report() is told of each entry:
 * MOVED after its src name is gone; BOTH when it was in dst already as
 * the same file (a crash between link and unlink), its src name now gone
 * too; CLASH when dst holds a different file of that name (left in src);
 * LINKFAIL, UNLINKFAIL with errno set. Returns how many were MOVED, or -1
 * (errno) when src cannot be read or dst synced: then nothing was
 * unlinked. */
enum { DIR_MOVE_MOVED = 1, DIR_MOVE_BOTH, DIR_MOVE_CLASH, DIR_MOVE_LINKFAIL, DIR_MOVE_UNLINKFAIL };
typedef int dir_move_name(char *out, size_t max, char const *name);
typedef void dir_move_report(int what, char const *name, void *ctx);
int dir_move(char const *src, char const *dst, dir_move_name *name, dir_move_report *report, void *ctx);

/* ---- dirents.c: a directory's names, without the heap ---- */
/* dirents_open: -1 (errno) when path cannot be opened as a directory.
 * dirents_next: the next name ("." and ".." included), or 0 at the end
 * (errno 0) or on an error (errno set). dirents_close keeps errno. */
typedef struct dirents { int fd; size_t pos, len; _Alignas(8) char buf[8192]; } dirents;
int dirents_open(dirents *d, char const *path);
char const *dirents_next(dirents *d);
void dirents_close(dirents *d);

/* ---- libc.c: system calls one C library has no wrapper for ---- */
/* rename that fails with EEXIST instead of replacing to (renameat2; link
 * and unlink where the file system has no RENAME_NOREPLACE). */
int rename_noreplace(char const *from, char const *to);
/* Closes every descriptor from fd up (close_range; where the kernel
 * refuses it, one close() each up to the RLIMIT_NOFILE soft limit, at
 * most 65536). */
void close_from(int fd);

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
/* Is there such a user? HOME/recipients (names only, readable by the
 * accounts that may not read the hashes), else HOME/users. 1 yes, 0 no,
 * -1 error. */
int user_exists(char const *home, char const *name);
/* From now on HOME/recipients is read once, at the first lookup, and
 * kept for the life of the process (e2e-smtpd: one session). */
void user_keep(void);
/* ... or kept while the file is unchanged (a stat a lookup: the runner). */
void user_watch(void);
/* checkpw.c: checks a password by running $E2E_CHECKPW (default
 * e2e-checkpw; checkpassword style, "name\0password\0" on its fd 3),
 * which accepts a strong crypt(3) method only, compares in constant time
 * and makes a failure last $E2E_AUTHFAIL_DELAY seconds. 1 right, 0 wrong
 * or no such user, -1 cannot tell (the checker logged why). */
int user_check(char const *home, char const *name, char const *pw);
/* The user mail for postmaster goes to: $E2E_POSTMASTER, else the first
 * user of HOME/recipients (or HOME/users). 1 found, 0 none, -1 error. */
int user_postmaster(char const *home, char *out);

/* ---- setuid.c: the setuid copies in HOME/libexec ---- */
/* In a program started through a setuid copy (real and effective user
 * differ): HOME is where the copy lies (HOME/libexec/PROG, by
 * /proc/self/exe, never $E2E_HOME, which the caller chose); the caller
 * must own HOME/caller_owns (when not 0), or be root; the real user becomes the
 * effective one, so that input cannot turn us back into the caller;
 * $E2E_HOME is set to HOME for us and our children. Without setuid it
 * does nothing. Dies (100, 111) when a check fails. */
void setuid_enter(char const *caller_owns);

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
 * returns 1: already delivered). 0 delivered, -1 error (errno). With
 * sync 0 the caller syncs new/ (fsync_dir) before it says delivered: one
 * sync for several deliveries. */
int maildir_put(char const *dir, char const *base, char const *head, size_t hlen,
                int fd, char const *body, size_t blen, int sync);
/* Creates dir/{tmp,new,cur} (mode 0700) as far as missing. */
int maildir_make(char const *dir);

/* ---- localjob.c: the runner's requests to e2e-local -w ---- */
#define LJOB_FIELDS 4        /* user, sender, recipient, delivery name */
#define LJOB_MAX 1024        /* a request packet, at most */
/* Sends one request with the message's fd; 0 sent, -1 error (errno). */
int ljob_send(int s, int fd, char const *const f[LJOB_FIELDS]);
/* Receives one (flags: 0, or MSG_DONTWAIT): 1 (f[] point into buf, *fd
 * the message), 0 end of input, -1 error (errno; EAGAIN: none waiting),
 * -2 malformed (nothing kept open). */
int ljob_recv(int s, int *fd, char *buf, size_t max, char const *f[LJOB_FIELDS], int flags);
#define LJOB_ANSWER 4400     /* an answer packet, at most */
/* Requests a worker holds at once: it delivers those waiting one after
 * the other, syncs each Maildir's new/ once, then answers them in order. */
#define LJOB_DEPTH 8
/* The runner's workers: pid 0 is a place not yet started, fd -1 a worker
 * that is ending (not yet reaped); job[0..nj) the requests handed to it,
 * oldest first; nj 0: idle since idle. */
#define LPOOL_MAX 1000
typedef struct lworker { pid_t pid; int fd; void *job[LJOB_DEPTH]; unsigned int nj; int64_t idle; } lworker;
typedef struct lpool { lworker w[LPOOL_MAX]; unsigned int n; } lpool;
/* The first worker with room (fewer than LJOB_DEPTH requests), so that a
 * burst goes to one worker while it can take it; else a new place (fewer
 * than max); else 0. */
lworker *lpool_get(lpool *p, unsigned int max);
/* Takes the oldest request off w: the job handed with it. */
void *lpool_pop(lworker *w);
/* Starts "PROG -w" on a new socket (qspawn); 0, or an errno. */
int lpool_start(lworker *w, char const *prog, char const *const *envp);
/* Frees w's place (its socket closed). */
void lpool_drop(lpool *p, lworker *w);
lworker *lpool_of(lpool *p, pid_t pid);
/* Reads an answer: its class (E2E_OK, E2E_PERM, E2E_TEMP) and text; -1
 * none yet; -2 the socket ended (closed here, fd -1). */
int lpool_answer(lworker *w, char *text, size_t max);
/* Ends the workers idle for idle ms (all idle ones when all): closes
 * their sockets. Returns the ms until the next one is due, or -1. */
int64_t lpool_expire(lpool *p, int64_t now, int64_t idle, int all);

/* ---- log.c ---- */
/* Copies at most max-1 bytes of s into out, bytes outside 33..126 as '?'. */
char *safe(char *out, size_t max, char const *s, size_t len);
/* One line on stderr: "PROG: " then the pieces. */
void logn(char const *const *v, unsigned int n);
#define log1(a) do { char const *lv_[] = { (a) }; logn(lv_, 1); } while (0)
/* One log line: prefix, then fmt formatted (cut at 1 KiB), its bytes
 * outside 32..126 made '?' so that it stays one line. */
void log_fmt(char const *prefix, char const *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes outside 32..126 of the string p as '?'. */
void log_printable(char *p);
#define log2(a,b) do { char const *lv_[] = { (a),(b) }; logn(lv_, 2); } while (0)
#define log3(a,b,c) do { char const *lv_[] = { (a),(b),(c) }; logn(lv_, 3); } while (0)
#define log4(a,b,c,d) do { char const *lv_[] = { (a),(b),(c),(d) }; logn(lv_, 4); } while (0)
#define log6(a,b,c,d,e,f) do { char const *lv_[] = { (a),(b),(c),(d),(e),(f) }; logn(lv_, 6); } while (0)

/* ---- peercap.c: connections at once from one client address ---- */
/* Takes one of max slots for peer: a lock on byte I (I in 0..max-1) of
 * the file dir/PEER (made as needed, mode 0600; F_OFD_SETLK) kept on a
 * close-on-exec descriptor until the process exits. peer must be 1..64
 * of [0-9A-Za-z.:_-], not starting with '.'. 1 taken, 0 all max slots
 * held by other processes, -1 error (errno; EINVAL for a malformed peer). */
int peer_slot(char const *dir, char const *peer, unsigned int max);
/* The cap of a service (PROTO=TCP or SAM, $E2E_PEERDIR set): a slot for
 * the client, $TCPREMOTEIP ($SAMREMOTEB32 with PROTO=SAM or without it),
 * among $capvar (default: half of $concvar, which defaults to 40; 0: no
 * cap). 0 when over the cap (the caller answers and hangs
 * up), 1 otherwise: admitted, not capped, or a slot that could not be
 * taken (logged as a warning: serving beats refusing). */
int peer_admit(char const *capvar, char const *concvar);
/* Gives the slot back (before the goodbye: the client may come back at
 * once, before this process has ended). */
void peer_release(void);

/* ---- child.c: running the next stage ---- */
/* Maps a waitpid status to 0/100/111 (crash or other code: 111). */
int exit_class(int status);
/* The same for the queue's exit status, but 53 stays E2E_NOSPACE (a reply
 * of 452 rather than 451) and 31 E2E_REFUSED (554 5.7.1). */
int queue_class(int status);

/* ---- queue layout (docs/queue.md) ---- */
#define QDIR_TMP "tmp"
#define QDIR_TODO "todo"
#define QDIR_MESS "mess"
#define QDIR_INFO "info"
/* Finished queue files for e2e-queue to fill again: free/0 ..
 * free/QFREE_SLOTS-1 (a rename is cheaper than a fresh inode). */
#define QDIR_FREE "free"
#define QFREE_SLOTS 64
#define QFREE_KEEP 65536   /* a finished file this long at most keeps its blocks in free/ */
#define QDIR_BOUNCE "bounce"
#define QTRIGGER "trigger"

/* ---- smtp.c: SMTP server parsing (added for e2e-smtpd) ---- */
/* s follows "FROM:" or "TO:" (blanks allowed before '<'). Copies the
 * checked address into a (ADDR_MAX bytes; empty for <>) and points *rest
 * at the parameters. When pmdomain is set, a bare <postmaster> becomes
 * postmaster@pmdomain. Returns 0, -1 for missing or unbalanced brackets,
 * or addr_check's ADDR_E* reason. */
int smtp_path(char *s, char *a, char **rest, char const *pmdomain);
/* The next blank-separated word of *p, NUL-terminated in place; 0 at the end. */
char *smtp_param(char **p);
/* Decodes standard base64 (RFC 4648, padding required) in place and
 * NUL-terminates; returns the length, or -1 when malformed. */
int b64_decode(char *s);
/* Decodes a SASL PLAIN response (base64, "=" for empty) in place into
 * user and password. 0 ok, 1 an authorization identity other than the
 * user, -1 malformed. */
int sasl_plain(char *s, char **user, char **pw);
/* ---- end of smtp.c ---- */

/* ---- queue.c: the runner's state file (docs/queue.md), by e2e-runner ---- */
#define QID_MAX 47
#define QR_TODO 0     /* still to deliver */
#define QR_DONE 1     /* delivered: never again */
#define QR_FAIL 2     /* failed for good, reported (or nobody to report to) */
#define QR_BOUNCE 3   /* failed for good, the bounce still to be queued */
typedef struct qrcpt {
  unsigned char state, busy;
  unsigned int tries;
  int64_t next;       /* next attempt, milliseconds since the epoch */
  char *err;          /* the last error (malloc'd), or 0 */
} qrcpt;
/* A queue id: 1..QID_MAX of [0-9A-Za-z.], not starting with '.'. */
int qid_valid(char const *id);
/* The seconds an id starts with (when e2e-queue made it), 0 if none. */
int64_t qid_time(char const *id);
/* Parses an info file (buf is modified, NUL-terminated) for n recipients;
 * 1 ok, 0 malformed. The err strings are malloc'd. */
int qinfo_parse(char *buf, size_t len, unsigned int n, int64_t *queued, int *warned, qrcpt *r);
/* Formats an info file into *out (malloc'd, NUL-terminated); its length,
 * 0 when out of memory. */
size_t qinfo_fmt(char **out, int64_t queued, int warned, qrcpt const *r, unsigned int n);
/* The enhanced status code found in text ("#5.1.1", "550 5.1.1 ..."),
 * its class replaced by cls ('4' or '5'); cls.0.0 when none. out: 16 bytes. */
void qstatus(char const *text, char cls, char *out);
/* ---- end of queue.c ---- */

/* ---- queuestore.c: the queue on disk, the runner's schedule, children ---- */
typedef struct qmsg {
  int64_t due;                /* ms since the epoch; the heap's key */
  int hidx;                   /* place in the heap, -1 when not in it */
  char id[QID_MAX + 1];
  char *env;                  /* the envelope as in the file */
  size_t elen;                /* its length: where the message starts */
  unsigned int n, jobs;       /* recipients; the runner's jobs for it */
  qrcpt *r;
  int64_t queued;             /* seconds since the epoch */
  int64_t bounce_next;        /* ms: when to try queuing the bounce again */
  int warned, has_info, dirty, remote_done;
} qmsg;
/* Loads queue/mess/ID and queue/info/ID. 1 loaded, 2 loaded but the info
 * file was malformed (ignored), 0 no such message (or an emptied one:
 * see qclean), -2 malformed message file, -1 error (errno). */
int qmsg_load(char const *qdir, char const *id, qmsg **out);
/* Writes info/ID durably (file_replace). 0 ok, -1 error. */
int qmsg_save(char const *qdir, qmsg *m);
/* Removes mess/ID, then info/ID. 0 ok, -1 error. */
int qmsg_remove(char const *qdir, qmsg const *m);
/* A finished mess/ID renamed free/.ID (emptied first when longer than
 * QFREE_KEEP): 1 done, 0 it was gone (or removed: no free/), -1 error.
 * Not reusable before qfree_promote. */
int qmsg_park(char const *qdir, char const *id);
/* Syncs mess/, then moves each free/.ID to an empty free/N (removed when
 * none is left). 0 ok, -1 the sync failed (errno). */
int qfree_promote(char const *qdir, char const (*ids)[QID_MAX + 1], unsigned int n);
void qmsg_free(qmsg *m);
/* Calls f for each valid queue id in qdir/sub; -1 when unreadable. */
int qdir_each(char const *qdir, char const *sub, void (*f)(char const *id));
/* Removes empty mess/ files and free/.ID (finished, on their way to
 * free/), free/N names of a file that has another, info/ files without
 * their message, file_replace's left-overs, and tmp/ files older than
 * tmpage seconds. */
void qclean(char const *qdir, int64_t tmpage);
typedef struct qheap { qmsg **v; size_t n, a; } qheap;
int qheap_put(qheap *h, qmsg *m);      /* adds or moves m by m->due; -1 no memory */
void qheap_del(qheap *h, qmsg *m);
/* Runs argv (PATH searched) with fd0 as fd 0 and fdn as fd n (each when
 * >= 0), an empty signal mask and default dispositions, killed (SIGKILL)
 * when the caller dies; 0 or an errno value (not started). */
int qspawn(pid_t *pid, char const *const *argv, char const *const *envp, int fd0, int fdn, int n);
/* ---- end of queuestore.c ---- */

/* ---- http.c, routes.c, cache.c: for e2e-resolve (and e2e-verify) ---- */
/* An HTTP/1.x response parser, fed bytes as they arrive. Bounds: the head
 * (status line, headers, interim 1xx heads, trailers) HTTP_HEAD_MAX bytes
 * and HTTP_HEADERS_MAX lines, one line HTTP_LINE_MAX, the body
 * HTTP_BODY_MAX, chunk framing HTTP_FRAME_MAX. Lines end in CRLF or LF. */
#define HTTP_HEAD_MAX 16384
#define HTTP_HEADERS_MAX 100
#define HTTP_LINE_MAX 8192
#define HTTP_BODY_MAX 4096
#define HTTP_FRAME_MAX 16384
#define HTTP_AGE_SAT 2147483648LL
#define HTTP_ESYNTAX 1   /* malformed status line or header */
#define HTTP_EHEAD 2     /* head too long, too many headers */
#define HTTP_EBODY 3     /* body over HTTP_BODY_MAX */
#define HTTP_ETRUNC 4    /* the connection closed too early */
#define HTTP_EFRAME 5    /* bad Content-Length, Transfer-Encoding or chunks */
typedef struct http {
  int state, kind, err;
  char const *why;     /* after an error: what exactly */
  int status;          /* of the final response, once head is set */
  int head;            /* 1: the final head is complete */
  int chunked, nostore, nocache;
  int64_t clen;        /* Content-Length, -1 none */
  int64_t maxage;      /* Cache-Control max-age (smallest seen), -1 none */
  uint64_t left;
  size_t headbytes, framebytes, linelen, bodylen;
  unsigned int nheaders;
  char line[HTTP_LINE_MAX];
  char body[HTTP_BODY_MAX];
} http;
void http_init(http *h);
/* Takes n more bytes: 1 the response is complete (later bytes are
 * ignored), 0 more wanted, -1 error (h->err, h->why). */
int http_feed(http *h, char const *p, size_t n);
/* The connection closed: 1 complete (a body read to the close), -1 not. */
int http_eof(http *h);
char const *http_reason(int e);
/* Folds one Cache-Control value into *maxage (the smallest, -1 none; an
 * invalid one counts as 0), *nostore, *nocache. Unknown directives and
 * junk are skipped. */
void http_cachecontrol(char const *v, size_t n, int64_t *maxage, int *nostore, int *nocache);

/* HOME/routes: "domain destination[:port]" lines (destination: I2P
 * base64 or a b32 address), blank lines, "#" comment lines. Finds domain
 * (lower case) in text: 1 found (*w set), 0 absent, -1 the file is
 * malformed (any line, or domain listed twice): *lineno, *why say so. */
struct i2p_wellknown;
#define ROUTES_MAX 1048576
int routes_find(char const *text, size_t len, char const *domain,
                struct i2p_wellknown *w, unsigned int *lineno, char const **why);
/* The whole format (docs/postman.md): "domain target[:port] [auth]"; the
 * domain "*" routes every domain outside .i2p without a line of its own;
 * the target is a destination or an I2P host name (NAMING LOOKUP).
 * routes_find above gives only the lines e2e-resolve can answer with: a
 * domain's own line naming a destination. */
typedef struct route {
  char target[ADDR_MAX];   /* a host name, or the destination's b32 address: HOME/auth's key */
  int byname;              /* 1: target is a host name, to look up */
  int auth;                /* 1: log in with HOME/auth's line for target */
  int dflt;                /* 1: found by the "*" line */
  unsigned int port, line;
} route;
/* domain's route in text: 1 found (*r, and *w when not byname and w is
 * not 0), 0 none, -1 malformed (*lineno, *why). */
int routes_get(char const *text, size_t len, char const *domain, route *r,
               struct i2p_wellknown *w, unsigned int *lineno, char const **why);
/* The same from home/routes (none when missing): -1 with err set. */
int routes_read(char const *home, char const *domain, route *r, struct i2p_wellknown *w,
                char *err, size_t errmax);
/* routesam.c: a byname target's destination (NAMING LOOKUP on a fresh
 * SAM connection to samaddr) into w, its port r->port: 0, or 100/111
 * with err set (not found is 111: the address book may learn it). */
int routes_lookup(route const *r, struct i2p_wellknown *w, char const *samaddr, int64_t deadline,
                  char *err, size_t errmax);
/* authfile.c: HOME/auth, "host user password" lines (the password is the
 * rest of the line), "#" comments: the credentials to log in to a route's
 * target. Must belong to the effective user and be private (mode 0600 or
 * stricter). 1 found (user AUTH_USER_MAX+1, pw AUTH_PW_MAX+1 bytes), 0 no line
 * for host, -1 missing, unsafe or unreadable (err says). */
#define AUTH_USER_MAX 255
#define AUTH_PW_MAX 255
int auth_find(char const *home, char const *host, char *user, char *pw, char *err, size_t errmax);
/* Standard base64 (RFC 4648, padded) of n bytes into out (4*ceil(n/3)+1
 * bytes, NUL-terminated); its length. */
size_t b64_encode(char *out, char const *in, size_t n);

/* e2e-resolve's cache, HOME/cache/HOST, one file per host:
 *   e2e-resolve-cache 1\nhost HOST\nfetched SECS\nexpires SECS\n
 *   then "found DEST[ PORT]\n" or "none REASON\n" (a negative entry).
 * Seconds since the epoch; expires - fetched is in 0..CACHE_TTL_MAX. */
#define CACHE_TTL_MAX 2592000     /* 30 days */
#define CACHE_FILE_MAX 2048
#define CACHE_HOST_MAX 240        /* longer hosts are refused */
typedef struct cache_entry {
  int64_t fetched, expires;
  int found;                      /* 1: answer is "DEST[ PORT]"; 0: reason */
  char answer[1024];
} cache_entry;
/* Strict; a "found" answer must pass i2p_wellknown_parse (into w). 0 ok, -1 malformed. */
int cache_parse(cache_entry *c, char const *host, char const *text, size_t len, struct i2p_wellknown *w);
/* The file's text into out (CACHE_FILE_MAX bytes); its length. */
size_t cache_fmt(char *out, char const *host, cache_entry const *c);
/* Writes dir/host atomically: a temporary file of a unique name, fsync,
 * rename, fsync of dir. 0 ok, -1 error (errno). */
int cache_store(char const *dir, char const *host, char const *text, size_t len);
/* ---- end of http.c, routes.c, cache.c ---- */

/* ---- header.c: RFC 5322 header fields (added for e2e-scrub) ---- */
/* When the line s (n bytes) starts a header field ("Name:", blanks
 * allowed before the colon), the name's length, with *colon the index of
 * the ':'; else 0. */
size_t hdr_field(char const *s, size_t n, size_t *colon);
/* Where the field (or line) starting at p in s[0..n) ends: after its
 * last continuation line (one that starts with a blank), n at most. */
size_t hdr_field_end(char const *s, size_t n, size_t p);
/* 1 when the name (len bytes) is name, case-insensitively. */
int hdr_is(char const *s, size_t len, char const *name);
/* Copies a field's value (n bytes, possibly folded) into out without its
 * line ends (NULs become blanks), NUL-terminated, truncated to max-1. */
size_t hdr_unfold(char *out, size_t max, char const *s, size_t n);
/* An RFC 5322 date-time, obsolete forms included (2- and 3-digit years,
 * zone names, comments), as seconds since the epoch. 0 ok, -1 malformed. */
int hdr_date_parse(char const *s, int64_t *t);
#define HDR_DATE_MAX 40
/* "Thu, 01 Jan 1970 00:00:00 +0000" into out (HDR_DATE_MAX bytes). */
void hdr_date_fmt(char *out, int64_t t);
/* The domain of a msg-id value "<left@domain>" (comments allowed
 * around): 0 with *dom and *len set, -1 malformed. */
int hdr_msgid_domain(char const *s, char const **dom, size_t *len);
/* ---- end of header.c ---- */

/* ---- qscan.c: the queue seen from outside the runner (for e2e-qstat) ---- */
/* Loads queue/todo/ID (a message the runner has not taken in yet: every
 * recipient QR_TODO, no state). Returns as qmsg_load does: 1 loaded,
 * 0 no such message, -2 malformed message file, -1 error (errno). */
int qmsg_load_new(char const *qdir, char const *id, qmsg **out);
/* Who holds the flock(2) on lockpath, from /proc/locks: 1 held (*pid set
 * to the holder as the kernel reports it), 0 not held, -1 cannot tell. */
int qlock_holder(char const *lockpath, pid_t *pid);
/* ---- end of qscan.c ---- */

/* ---- tls.c: STARTTLS/STLS through e2e-tlsd (docs/tls.md) ---- */
/* e2e-tlsd's control socket, named in $E2E_TLSCTL (made close-on-exec),
 * or -1: no wrapper, no TLS to offer. */
int tls_ctl(void);
/* Asks e2e-tlsd to start TLS (flush the replies first): 1 ready (it reads
 * no more from the client), 0 not available (answer 454 or -ERR), -1 error. */
int tls_ask(int ctl, int64_t deadline);
/* After tls_ask's 1 and the "go ahead" reply written out: drops what the
 * client sent before the handshake (in b and still on b's fd), then lets
 * e2e-tlsd begin the handshake. 0 ok, -1 error. */
int tls_start(int ctl, rbuf *b);
/* Must a password wait for TLS? 1 for a TCP client not on loopback
 * ($TCPREMOTEIP set, not 127.*) when $E2E_TLSREQUIRE is 1; unset, it
 * is 1 under e2e-tlsd (ctl >= 0), else 0. */
int tls_required(int ctl);
/* ---- end of tls.c ---- */

/* ---- pop3c.c: the client side of POP3 (for e2e-popfetch) ---- */
#define POP3_UID_MAX 70          /* RFC 1939: 1..70 characters 0x21..0x7e */
#define POP3_MSGS_MAX 1000000    /* message numbers, at most */
/* A status line without its CRLF: 1 "+OK", 0 "-ERR", -1 neither. */
int pop3_status(char const *line, size_t n);
/* 1 when s (n bytes) is a unique-id as RFC 1939 allows. */
int pop3_uid_valid(char const *s, size_t n);
/* A line of a UIDL or LIST listing, "NUM ARG" (NUL-terminated, no CRLF):
 * splits it in place. 0 ok, -1 malformed. */
int pop3_listing(char *line, unsigned int *num, char **arg);
/* The data of a multi-line reply (after its "+OK" line), fed as it
 * arrives: stuffed dots removed, CRLF made LF (a bare CR or LF is kept),
 * the final "." line found. */
typedef struct pop3_body { int state; } pop3_body;
void pop3_body_init(pop3_body *b);
/* Takes up to n bytes, writes the message's bytes into out (room for
 * n + 1) and their number into *outlen; returns the bytes taken: fewer
 * than n only when the final line ended (the rest is not the message). */
size_t pop3_body_feed(pop3_body *b, char const *in, size_t n, char *out, size_t *outlen);
/* 1 once the final "." line was taken. */
int pop3_body_done(pop3_body const *b);
/* ---- end of pop3c.c ---- */

/* ---- srv.c: service records (I2P proposal 167) in a lease set's options ---- */
#define SRV_MAX 16              /* records in one value */
#define SRV_VALUE_MAX 1024      /* longest value (a lease set allows 255 bytes) */
#define SRV_TARGET_MAX 255
typedef struct srv_rec {
  int self;                     /* 1: "0 TTL PORT": the destination itself */
  uint32_t ttl;                 /* seconds, 1..2^31-1 */
  unsigned int priority, weight, port;   /* 0..65535 each */
  char target[SRV_TARGET_MAX + 1];       /* lower-case host name or b32; "" for self */
} srv_rec;
/* A SAM "NAMING REPLY ..." line, split in place: RESULT, VALUE and the
 * value of the token OPTION:option (each NULL when absent). 0, or -1 when
 * malformed or a key appears twice. */
int srv_naming_reply(char *line, char const *option, char const **result, char const **value, char const **opt);
/* A record value: "0 TTL PORT [APP]" alone, or "1 TTL PRIORITY WEIGHT
 * PORT TARGET [APP]" records separated by commas. 0 with *count records
 * in r (max of them), or -1 (*why) when any part is malformed. */
int srv_parse(char const *value, srv_rec *r, unsigned int max, unsigned int *count, char const **why);
/* Orders records to try: by priority, within one by weight at random
 * (RFC 2782), rnd giving the random numbers. */
void srv_order(srv_rec *r, unsigned int n, uint32_t (*rnd)(void));
/* ---- end of srv.c ---- */

#endif
