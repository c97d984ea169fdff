/* smbcopy: copy files between local paths and SMB shares. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secrets.h"
#include "loc.h"
#include "report.h"
#include "transfer.h"

volatile sig_atomic_t sc_interrupted = 0;

static void on_signal(int sig)
{
    sc_interrupted = 1;
    /* A second signal ends the process at once. */
    signal(sig, SIG_DFL);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static bool wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--json") == 0)
            return true;
    }
    return false;
}

/* A copy of an argument that may hold a secret; freed with free_arg. */
static char *dup_arg(const char *a)
{
    return a != NULL ? strdup(a) : NULL;
}

static void free_arg(char *a)
{
    if (a != NULL) {
        tool_wipe(a, strlen(a));
        free(a);
    }
}

static void print_json(const sc_ctx *ctx, const sc_opts *o, bool ok, int code, double secs)
{
    char *src = o->src != NULL ? sc_redact_arg(o->src) : NULL;
    char *dst = o->dst != NULL ? sc_redact_arg(o->dst) : NULL;
    sc_summary s = {
        .ok = ok,
        .method = ctx->method_used != NULL
                      ? ctx->method_used
                      : (o->method == SC_METHOD_AUTO ? NULL : sc_method_name(o->method)),
        .src = src,
        .dst = dst,
        .src_resolved = ctx->resolved[0],
        .dst_resolved = ctx->resolved[1],
        .bytes = ctx->bytes,
        .files = ctx->files,
        .failed = ctx->failed,
        .skipped = ctx->skipped,
        .seconds = secs,
        .dialect = sc_ctx_dialect(ctx),
        .prot = &ctx->prot,
        .counters = true,
        .requests = ctx->requests,
        .wire_bytes = ctx->wire_bytes,
        .resumed_bytes = ctx->resumed,
        .reconnects = ctx->reconnects,
        .error = ok ? NULL : (ctx->error[0] != '\0' ? ctx->error : "failed"),
        .exit_code = code,
        .collisions = ctx->collisions,
        .ncollisions = ctx->ncollisions,
    };
    char *j = sc_summary_json(&s);
    if (j != NULL) {
        fputs(j, stdout);
        fflush(stdout);
    }
    free(j);
    free(src);
    free(dst);
}

static __attribute__((noinline)) int smbcopy_main(int argc, char **argv)
{
    double t0 = sc_now();
    /* argv may hold a password: no core dumps from here on (unless asked
     * for), and none while the copies below are alive. */
    int dumps = tool_disable_core_dumps();
    int dumps_errno = errno;
    sc_opts o;
    sc_opts_init(&o);
    sc_ctx ctx;
    sc_ctx_init(&ctx, &o);
    char err[512];
    if (sc_opts_parse(&o, argc, argv, err, sizeof(err)) != 0) {
        sc_opts_burn_secrets(argc, argv);
        sc_report(&ctx, SC_EXIT_USAGE, "%s", err);
        if (wants_json(argc, argv)) {
            o.json = true;
            print_json(&ctx, &o, false, SC_EXIT_USAGE, sc_now() - t0);
        }
        return SC_EXIT_USAGE;
    }
    /* Take what is needed from the arguments that may hold passwords (-U
     * and the URLs), then burn the passwords in argv so that other users do
     * not see them in ps or /proc/PID/cmdline for the rest of the run. */
    int code = SC_EXIT_OK;
    bool bad_user = o.user_arg != NULL && tool_parse_user_arg(o.user_arg, &ctx.cli) != 0;
    char *src = dup_arg(o.src), *dst = dup_arg(o.dst);
    bool nomem = (o.src != NULL && src == NULL) || (o.dst != NULL && dst == NULL);
    sc_opts_burn_secrets(argc, argv);
    tool_scrub_stack();
    o.user_arg = NULL;
    o.src = ctx.args[0] = src;
    o.dst = ctx.args[1] = dst;
    if (o.help) {
        sc_opts_help(stdout);
        goto done;
    }
    if (o.version) {
        printf("smbcopy %s (smbwire %s)\n", SMBW_VERSION, smbw_version());
        goto done;
    }
    install_signals();
    /* The bar and -v log lines would fight over the terminal: with -v the
     * bar is shown only when asked for. */
    ctx.prog.enabled = !o.quiet && (o.progress == 1 ||
                                    (o.progress < 0 && o.verbose == 0 && isatty(STDERR_FILENO)));
    ctx.prog.out = stderr;
    ctx.env_password = getenv("SMB_PASSWORD");
    ctx.env_user = getenv("USER");

    if (dumps < 0)
        sc_warn(&ctx, "cannot disable core dumps: %s", strerror(dumps_errno));
    if (nomem) {
        code = SC_EXIT_LOCAL;
        sc_report(&ctx, code, "out of memory");
    } else if (bad_user) {
        code = SC_EXIT_USAGE;
        sc_report(&ctx, code, "option -U: expected [DOMAIN\\]USER[%%PASSWORD]");
    }
    if (code == 0 && o.authfile != NULL) {
        char why[256];
        unsigned mode = 0;
        int ar = tool_parse_auth_file(o.authfile, &ctx.file, &mode, why, sizeof(why));
        tool_scrub_stack(); /* what the parser left below main */
        if (ar != 0) {
            code = SC_EXIT_LOCAL;
            sc_report(&ctx, code, "authentication file %s: %s", o.authfile, why);
        } else if ((mode & 0044) != 0) {
            /* As ssh does for key files: the secret is exposed on disk. */
            sc_warn(&ctx,
                    "authentication file %s is readable by %s (mode %04o); "
                    "restrict it with chmod 600",
                    o.authfile, (mode & 0004) != 0 ? "everyone" : "its group", mode);
        }
    }
    if (code == 0)
        code = sc_run(&ctx, o.src, o.dst);
    /* sc_run returns 0 only when everything was copied: a signal that came
     * after the last file got its final name changes nothing. */
    if (code == 0 && sc_interrupted && !o.quiet)
        fprintf(stderr, "smbcopy: interrupted after the copy was complete\n");
    double secs = sc_now() - t0;
    if (code == 0 && ctx.prog.enabled && !o.json) {
        char b[32], r[32];
        sc_fmt_bytes(b, sizeof(b), (double)ctx.bytes);
        sc_fmt_bytes(r, sizeof(r), secs > 0 ? (double)ctx.bytes / secs : 0);
        fprintf(stderr, "copied %llu file%s, %s in %.2f s (%s/s)\n", (unsigned long long)ctx.files,
                ctx.files == 1 ? "" : "s", b, secs, r);
    }
    if (o.json)
        print_json(&ctx, &o, code == 0, code, secs);
done:
    sc_ctx_free(&ctx);
    free_arg(src);
    free_arg(dst);
    return code;
}

/* Code that ran before main (the loader, libc, a sanitizer runtime) may have
 * left copies of the arguments, passwords included, on the stack where the
 * real main's frame will lie; a frame's unused slots are never overwritten,
 * so they are zeroed before that frame exists. */
int main(int argc, char **argv)
{
    tool_scrub_stack();
    return smbcopy_main(argc, argv);
}
