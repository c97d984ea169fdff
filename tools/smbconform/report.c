/* The --json report and the JUnit XML file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smbconform.h"

/* SMB2_GLOBAL_CAP_* (MS-SMB2 2.2.4). */
static const struct {
    uint32_t bit;
    const char *name;
} caps[] = {
    {0x01, "DFS"},
    {0x02, "LEASING"},
    {0x04, "LARGE_MTU"},
    {0x08, "MULTI_CHANNEL"},
    {0x10, "PERSISTENT_HANDLES"},
    {0x20, "DIRECTORY_LEASING"},
    {0x40, "ENCRYPTION"},
    {0x80, "NOTIFICATIONS"},
};

static void counts(const cf_run *r, size_t c[4])
{
    memset(c, 0, 4 * sizeof(c[0]));
    for (size_t i = 0; i < r->n; i++)
        c[r->recs[i].result]++;
}

char *cf_report_json(const cf_run *r)
{
    tool_buf b = {0};
    const cf_server_info *s = r->server;
    tool_buf_puts(&b, "{\"server\":{\"url\":");
    tool_json_str(&b, r->url_shown);
    tool_buf_puts(&b, ",\"dialect\":");
    tool_json_str(&b, smbw_dialect_name(s->dialect));
    tool_buf_printf(&b, ",\"capabilities\":%u,\"capability_names\":[", s->capabilities);
    bool first = true;
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        if (s->capabilities & caps[i].bit) {
            tool_buf_printf(&b, "%s\"%s\"", first ? "" : ",", caps[i].name);
            first = false;
        }
    tool_buf_printf(&b,
                    "],\"security_mode\":%u,\"signing_required\":%s,\"max_read\":%u,"
                    "\"max_write\":%u,\"max_transact\":%u,\"share_flags\":%u,"
                    "\"share_capabilities\":%u,\"server_guid\":\"",
                    s->security_mode, (s->security_mode & 2) ? "true" : "false", s->max_read,
                    s->max_write, s->max_transact, s->share_flags, s->share_capabilities);
    for (int i = 0; i < 16; i++)
        tool_buf_printf(&b, "%02x", s->guid[i]);
    tool_buf_puts(&b, "\",\"signing\":");
    tool_json_str(&b, s->signing);
    tool_buf_puts(&b, ",\"cipher\":");
    tool_json_str(&b, s->cipher);
    tool_buf_puts(&b, ",\"auth\":");
    tool_json_str(&b, s->auth);
    tool_buf_puts(&b, "},\"cases\":[");
    for (size_t i = 0; i < r->n; i++) {
        const cf_outcome_rec *o = &r->recs[i];
        tool_buf_puts(&b, i == 0 ? "\n{\"name\":" : ",\n{\"name\":");
        tool_json_str(&b, o->cs->name);
        tool_buf_puts(&b, ",\"spec\":");
        tool_json_str(&b, o->cs->spec);
        tool_buf_puts(&b, ",\"result\":");
        tool_json_str(&b, cf_result_name(o->result));
        tool_buf_puts(&b, ",\"expected\":");
        tool_json_str(&b, o->expected[0] != '\0' ? o->expected : NULL);
        tool_buf_puts(&b, ",\"got\":");
        tool_json_str(&b, o->got[0] != '\0' ? o->got : NULL);
        tool_buf_puts(&b, ",\"reason\":");
        tool_json_str(&b, o->reason[0] != '\0' ? o->reason : NULL);
        tool_buf_printf(&b, ",\"seconds\":%.3f}", o->seconds);
    }
    size_t c[4];
    counts(r, c);
    tool_buf_printf(&b,
                    "],\n\"summary\":{\"total\":%zu,\"pass\":%zu,\"fail\":%zu,\"skip\":%zu,"
                    "\"error\":%zu,\"seconds\":%.3f}}\n",
                    r->n, c[CF_PASS], c[CF_FAIL], c[CF_SKIP], c[CF_ERROR], r->seconds);
    if (b.failed) {
        tool_buf_free(&b);
        return NULL;
    }
    return b.p;
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (c == '&')
            fputs("&amp;", f);
        else if (c == '"')
            fputs("&quot;", f);
        else if (c < 0x20 && c != '\t' && c != '\n')
            fputc('?', f);
        else
            fputc(c, f);
    }
}

int cf_report_junit(const cf_run *r, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    size_t c[4];
    counts(r, c);
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuite name=\"smbconform\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "skipped=\"%zu\" time=\"%.3f\">\n",
            r->n, c[CF_FAIL], c[CF_ERROR], c[CF_SKIP], r->seconds);
    for (size_t i = 0; i < r->n; i++) {
        const cf_outcome_rec *o = &r->recs[i];
        fputs("  <testcase classname=\"", f);
        xml_text(f, o->cs->spec);
        fputs("\" name=\"", f);
        xml_text(f, o->cs->name);
        fprintf(f, "\" time=\"%.3f\"", o->seconds);
        if (o->result == CF_PASS) {
            fputs("/>\n", f);
            continue;
        }
        fputs(">\n    <", f);
        const char *tag = o->result == CF_FAIL   ? "failure"
                          : o->result == CF_SKIP ? "skipped"
                                                 : "error";
        fprintf(f, "%s message=\"", tag);
        if (o->result == CF_FAIL) {
            fputs("expected: ", f);
            xml_text(f, o->expected);
            fputs("; got: ", f);
            xml_text(f, o->got);
        } else {
            xml_text(f, o->reason);
        }
        fputs("\"/>\n  </testcase>\n", f);
    }
    fputs("</testsuite>\n", f);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
