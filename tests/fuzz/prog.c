/* Whole programs in the fuzzer's process: see prog.h. */
#define _GNU_SOURCE
#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fuzz.h"
#include "prog.h"

static jmp_buf back;
static volatile int running;
static pid_t self;
static int cwd = -1, nullfd = -1;
static unsigned char keep[1024];     /* fds open before the first run */

_Noreturn void __real_exit(int);
_Noreturn void __real__exit(int);
_Noreturn void __wrap_exit(int c);
_Noreturn void __wrap__exit(int c);

_Noreturn void __wrap_exit(int c)
{
  if (running && getpid() == self) { running = 0; longjmp(back, 1); }
  __real_exit(c);
}

_Noreturn void __wrap__exit(int c)
{
  if (running && getpid() == self) { running = 0; longjmp(back, 1); }
  __real__exit(c);
}

unsigned int fz_sleep(unsigned int s) { (void)s; return 0; }
unsigned int fz_alarm(unsigned int s) { (void)s; return 0; }
int fz_sigaction(int sig, struct sigaction const *a, struct sigaction *o)
{
  return sig == SIGALRM ? 0 : sigaction(sig, a, o);
}

#ifdef __clang__
/* The program's static variables, and a copy of their first values. The
 * copying skips AddressSanitizer: the sections hold its redzones too. */
extern char __start_e2eprog_data[] __attribute__((weak)), __stop_e2eprog_data[] __attribute__((weak));
extern char __start_e2eprog_bss[] __attribute__((weak)), __stop_e2eprog_bss[] __attribute__((weak));
static char *first;

__attribute__((no_sanitize("address")))
static void copy(volatile char *to, volatile char const *from, size_t n)
{
  while (n--) *to++ = from ? *from++ : 0;
}

static void statics_reset(void)
{
  size_t n = (size_t)(__stop_e2eprog_data - __start_e2eprog_data);
  if (!first) {
    if (!(first = malloc(n + 1))) abort();
    copy(first, __start_e2eprog_data, n);
  }
  else copy(__start_e2eprog_data, first, n);
  copy(__start_e2eprog_bss, 0, (size_t)(__stop_e2eprog_bss - __start_e2eprog_bss));
}
#else
static void statics_reset(void) { }
#endif

static void setup(void)
{
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  self = getpid();
  if ((cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) abort();
  if ((nullfd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) abort();
  if (!d) abort();
  while ((e = readdir(d))) {
    int fd = atoi(e->d_name);
    if (fd >= 0 && fd < (int)sizeof keep) keep[fd] = 1;
  }
  closedir(d);
}

static void fds_close(void)
{
  int fd;
  for (fd = 3; fd < (int)sizeof keep; fd++) if (!keep[fd] && fd != cwd && fd != nullfd) close(fd);
}

void fz_prog_run(int (*mainf)(void), uint8_t const *d, size_t n, void (*cleanup)(void))
{
  int in;
  if (!self) setup();
  if ((in = memfd_create("fuzz-input", MFD_CLOEXEC)) < 0) abort();
  if ((n && write(in, d, n) != (ssize_t)n) || lseek(in, 0, SEEK_SET) < 0) abort();
  if (dup2(in, 0) < 0 || dup2(nullfd, 1) < 0) abort();
  close(in);
  statics_reset();
  if (!setjmp(back)) {
    running = 1;
    mainf();
    running = 0;
  }
  if (cleanup) cleanup();
  fds_close();
  if (fchdir(cwd) < 0) abort();
  while (waitpid(-1, 0, 0) > 0 || errno == EINTR) ;
}

void fz_users(char const *pw)
{
  char users[512];
  struct crypt_data cd;
  char const *h;
  memset(&cd, 0, sizeof cd);
  h = crypt_r(pw, "$6$rounds=1000$fuzzsalt$", &cd);
  if (!h || *h != '$') abort();
  snprintf(users, sizeof users, "alice:%s\nbob:%s\n", h, h);
  fz_file("users", users, strlen(users));
}
