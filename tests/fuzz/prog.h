/* Running a whole program (its main on fds 0/1) inside the fuzzer's
 * process, once per input, as if it had been started afresh:
 *  - the program's source is #included between FZ_PROG_BEGIN and
 *    FZ_PROG_END, which put its static variables into sections of their
 *    own; fz_prog_run() puts them back as they were at start (clang; the
 *    standalone driver runs each input in a new process anyway);
 *  - exit() and _exit() in the process (the program's and skalibs', which
 *    is linked statically for this: ld --wrap) come back to fz_prog_run;
 *  - fd 0 is the input (a memfd: all of it at once, then EOF), fd 1 is
 *    /dev/null; afterwards every fd the program left open is closed, the
 *    working directory restored and its children waited for.
 * What the fuzz build leaves out, by the macros below: sleep() (a failed
 * login waits a second), alarm() and SIGALRM handlers (libFuzzer's own
 * -timeout uses SIGALRM; a hang is caught by it instead). */
#ifndef E2E_FUZZ_PROG_H
#define E2E_FUZZ_PROG_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

void fz_prog_run(int (*mainf)(void), uint8_t const *d, size_t n, void (*cleanup)(void));
unsigned int fz_sleep(unsigned int s);
unsigned int fz_alarm(unsigned int s);
int fz_sigaction(int sig, struct sigaction const *a, struct sigaction *o);
/* fz_dir()/users: the users alice and bob, both with the password pw
 * (SHA-512 crypt, 1000 rounds: cheap to check); aborts on failure. */
void fz_users(char const *pw);

#ifdef __clang__
#define FZ_PROG_BEGIN _Pragma("clang section bss=\"e2eprog_bss\" data=\"e2eprog_data\"")
#define FZ_PROG_END _Pragma("clang section bss=\"\" data=\"\"")
#else
#define FZ_PROG_BEGIN
#define FZ_PROG_END
#endif
#endif
