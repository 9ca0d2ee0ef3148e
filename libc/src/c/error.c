/*
 * glibc's <error.h>: error, error_at_line and their variables
 * (error_message_count, error_one_per_line, error_print_progname), as glibc
 * words the messages: standard output flushed, then "PROGRAM: MESSAGE" (or
 * "PROGRAM:FILE:LINE: MESSAGE"), ": STRERROR" when errnum is not 0, and a
 * newline on standard error; exit(status) when status is not 0. PROGRAM is
 * the host's program_invocation_name, unless error_print_progname is set.
 *
 * Owns these only.
 */

#include "shims.h"

extern char *__progname_full; /* program_invocation_name */
extern void *stderr;
extern int fflush(void *);
extern int fprintf(void *, const char *, ...);
extern int fputc(int, void *);
extern void exit(int) __attribute__((noreturn));
extern int strcmp(const char *, const char *);
extern void *stdout;

unsigned int staticdl_error_message_count;
int staticdl_error_one_per_line;
void (*staticdl_error_print_progname)(void);

static void message(int status, int errnum, const char *fmt, va_list ap)
{
    vfprintf(stderr, fmt, ap);
    if (errnum)
        fprintf(stderr, ": %s", strerror(errnum));
    fputc('\n', stderr);
    fflush(stderr);
    staticdl_error_message_count++;
    if (status)
        exit(status);
}

static void start(void)
{
    fflush(stdout);
    if (staticdl_error_print_progname)
        staticdl_error_print_progname();
    else
        fprintf(stderr, "%s: ", __progname_full);
}

void staticdl_glibc_error(int status, int errnum, const char *fmt, ...)
{
    start();
    va_list ap;
    va_start(ap, fmt);
    message(status, errnum, fmt, ap);
    va_end(ap);
}

void staticdl_error_at_line(int status, int errnum, const char *file, unsigned line,
                            const char *fmt, ...)
{
    static const char *last_file;
    static unsigned last_line;
    if (staticdl_error_one_per_line) {
        if (line == last_line && file && last_file &&
            (file == last_file || strcmp(file, last_file) == 0))
            return; /* the same place as the previous message */
        last_file = file;
        last_line = line;
    }
    fflush(stdout);
    if (staticdl_error_print_progname)
        staticdl_error_print_progname();
    else
        fprintf(stderr, "%s:", __progname_full);
    fprintf(stderr, file ? "%s:%u: " : " ", file, line);
    va_list ap;
    va_start(ap, fmt);
    message(status, errnum, fmt, ap);
    va_end(ap);
}
