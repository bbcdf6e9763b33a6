/* Includes a whole program (FZ_PROG_FILE) for fz_prog_run, its main
 * renamed FZ_PROG_MAIN, with sleep, alarm and sigaction the fuzz build's
 * (prog.h). Define both, then #include "progwrap.h". */
#define main FZ_PROG_MAIN
#define sleep(s) fz_sleep(s)
#define alarm(s) fz_alarm(s)
#define sigaction(s, a, o) fz_sigaction(s, a, o)
FZ_PROG_BEGIN
#include FZ_PROG_FILE
FZ_PROG_END
#undef main
#undef sleep
#undef alarm
#undef sigaction
