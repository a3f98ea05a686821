/* replay_main.c - run fuzz inputs through a target without libFuzzer.
 *
 *   build/fuzz/replay/fuzz_allowlist FILE|DIR...
 *
 * Every regular file named (directories: their files, in name order, not
 * recursive) is read and passed once to LLVMFuzzerTestOneInput().  Built
 * with gcc -fsanitize=address,undefined by `make fuzz-replay`, so that CI
 * can replay the committed corpora in seconds.  A crash or failed invariant
 * aborts; the input being run is printed first when FUZZ_VERBOSE is set,
 * and always on stderr before an abort via the SIGABRT handler.
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current;

static void on_abort(int sig)
{
    (void)sig;
    if (current != NULL) {
        static const char msg[] = "replay: failing input: ";
        if (write(2, msg, sizeof(msg) - 1) < 0
            || write(2, current, strlen(current)) < 0
            || write(2, "\n", 1) < 0)
            _exit(134);
    }
    signal(SIGABRT, SIG_DFL);
    raise(SIGABRT);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            unsigned char *nb;
            cap = cap ? 2 * cap : 65536;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                fclose(f);
                free(buf);
                return -1;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    current = path;
    if (getenv("FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    /* an exact-size copy, so that ASan catches reads past the end */
    {
        unsigned char *exact = malloc(len ? len : 1);
        if (exact == NULL) {
            free(buf);
            return -1;
        }
        memcpy(exact, buf, len);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    current = NULL;
    free(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path, size_t *count)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int rc = 0;

    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (run_file(path) != 0)
            return -1;
        (*count)++;
        return 0;
    }
    d = opendir(path);
    if (d == NULL) {
        perror(path);
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn;
            cap = cap ? 2 * cap : 64;
            nn = realloc(names, cap * sizeof(*names));
            if (nn == NULL)
                abort();
            names = nn;
        }
        names[n] = malloc(strlen(path) + strlen(de->d_name) + 2);
        if (names[n] == NULL)
            abort();
        sprintf(names[n], "%s/%s", path, de->d_name);
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_str);
    for (i = 0; i < n; i++) {
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(names[i]) != 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int i, rc = 0;

    signal(SIGABRT, on_abort);
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++)
        if (run_path(argv[i], &count) != 0)
            rc = 1;
    printf("%s: %zu input(s) replayed%s\n", argv[0], count,
           rc ? ", some unreadable" : "");
    return rc;
}
