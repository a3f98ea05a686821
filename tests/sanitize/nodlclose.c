/* nodlclose.so - preloaded into apache2 after the ASan runtime, for the
 * sanitizer runs only (tests/sanitize/apache2-asan).
 *
 * 1. dlclose() does nothing.  httpd unloads its DSO modules (apr_dso_unload)
 *    when the configuration pool goes away, i.e. just before the process
 *    exits and on every restart.  LeakSanitizer checks at exit, after that,
 *    so the frames of a leak allocated in mod_devprov.so or mod_ssl.so
 *    would print as "<unknown module>" and could not be attributed.  Keeping
 *    the modules mapped is what a statically linked httpd does anyway (a
 *    re-LoadModule of the same file on restart gets the same handle back).
 *
 * 2. LeakSanitizer checks the process apache2 was started as (the parent,
 *    or "apache2 -t") and not the processes it forks (the MPM's children,
 *    mod_cgid's daemon): those exit() without destroying the configuration
 *    pool, so everything that only the pool's memory points to (all that a
 *    pool cleanup would free: OpenSSL objects, regexes, ...) is reported as
 *    a direct leak - apr's pool memory is not scanned by LSan.  The parent
 *    destroys the pool and runs every cleanup before exiting; the children
 *    are checked for leaks by the valgrind run (apache2 -X).  ASan and UBSan
 *    errors are detected in every process.
 */
#include <unistd.h>

int dlclose(void *handle);
int __lsan_is_turned_off(void);

static pid_t first_pid;

__attribute__((constructor)) static void note_pid(void)
{
    first_pid = getpid();
}

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}

/* LeakSanitizer's hook: nonzero skips the leak check at exit */
int __lsan_is_turned_off(void)
{
    return getpid() != first_pid;
}
