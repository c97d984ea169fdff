/* Public API: directory listing through QUERY_DIRECTORY. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "../util/unicode.h"

struct smbw_dir {
    smbw_file *f;
    smbw_buf data; /* the current QUERY_DIRECTORY output */
    size_t pos;
    bool have_data;
    bool end;
    bool first;
    int fetches;
    bool real_in_batch; /* the current answer had an entry other than . and .. */
    char *name;         /* current entry's UTF-8 name */
};

int smbw_dir_open(smbw_dir **out, smbw_tree *t, const char *path)
{
    if (!out)
        return SMBW_EINVAL;
    *out = NULL;
    smbw_dir *d = calloc(1, sizeof *d);
    if (!d)
        return SMBW_ENOMEM;
    buf_init(&d->data);
    int rc = smbw_file_open(&d->f, t, path, SMBW_O_RDONLY | SMBW_O_DIRECTORY);
    if (rc) {
        free(d);
        return rc;
    }
    d->first = true;
    *out = d;
    return 0;
}

static int fetch(smbw_dir *d)
{
    smbw_conn *c;
    int rc = api_file_conn(d->f, &c);
    if (rc)
        return rc;
    uint32_t outlen = c->max_transact < (1u << 20) ? c->max_transact : (1u << 20);
    core_msg m;
    api_msg_for_tree(&m, d->f->tree, SMB2_QUERY_DIRECTORY);
    smb2_query_dir_req q;
    memset(&q, 0, sizeof q);
    q.info_class = FileIdBothDirectoryInformation;
    q.flags = d->first ? SMB2_RESTART_SCANS : 0;
    memcpy(q.file_id, d->f->id, 16);
    q.pattern = "*";
    q.output_buffer_length = outlen;
    m.payload = outlen;
    if (wire_encode_query_dir(&m.body, &q) != 0) {
        buf_free(&m.body);
        return SMBW_ENOMEM;
    }
    d->first = false;
    api_rsp rsp;
    rc = api_call(c, &m, 1, false, &rsp);
    if (!rc) {
        if (rsp.h.status == SMBW_STATUS_NO_MORE_FILES) {
            d->end = true;
        } else if (rsp.h.status != SMBW_STATUS_SUCCESS) {
            rc = api_status_error(c, rsp.h.status, "list directory");
        } else {
            smb2_query_dir_rsp qr;
            if (wire_decode_query_dir(rsp.msg.p, rsp.msg.len, &qr) != 0 || qr.data_len > outlen) {
                core_kill(c, SMBW_EPROTO, "malformed QUERY_DIRECTORY response");
                rc = SMBW_EPROTO;
            } else if (qr.data_len == 0) {
                d->end = true;
            } else {
                buf_reset(&d->data);
                buf_put(&d->data, qr.data, qr.data_len);
                if (d->data.failed)
                    rc = SMBW_ENOMEM;
                d->pos = 0;
                d->have_data = !rc;
                d->fetches++;
                d->real_in_batch = false;
            }
        }
    }
    api_rsp_free(&rsp);
    return rc;
}

int smbw_dir_next(smbw_dir *d, smbw_dirent *ent)
{
    if (!d || !ent)
        return SMBW_EINVAL;
    for (;;) {
        if (!d->have_data) {
            if (d->end)
                return SMBW_ENOMORE;
            int rc = fetch(d);
            if (rc)
                return rc;
            continue;
        }
        smb2_dirent e;
        int rc = wire_next_dirent(d->data.p, d->data.len, &d->pos, &e);
        if (rc == 1) {
            d->have_data = false;
            if (d->fetches > 1 && !d->real_in_batch) {
                /* Only . and .. again: a server that would never end. */
                smbw_conn *c;
                if (api_file_conn(d->f, &c) == 0)
                    core_kill(c, SMBW_EPROTO,
                              "QUERY_DIRECTORY keeps answering with no new entries");
                return SMBW_EPROTO;
            }
            continue;
        }
        if (rc) {
            smbw_conn *c;
            if (api_file_conn(d->f, &c) == 0)
                core_kill(c, SMBW_EPROTO, "malformed directory entry");
            return SMBW_EPROTO;
        }
        free(d->name);
        d->name = NULL;
        if (utf16le_to_utf8(e.name_utf16, e.name_len, &d->name) != 0) {
            smbw_conn *c;
            if (api_file_conn(d->f, &c) == 0)
                core_set_error(c, SMBW_EPROTO, 0, "directory entry name is not valid UTF-16");
            return SMBW_EPROTO;
        }
        if (!strcmp(d->name, ".") || !strcmp(d->name, ".."))
            continue;
        d->real_in_batch = true;
        if (!d->name[0] || strchr(d->name, '/') || strchr(d->name, '\\')) {
            smbw_conn *c;
            if (api_file_conn(d->f, &c) == 0)
                core_set_error(c, SMBW_EPROTO, 0, "directory entry with an invalid name");
            return SMBW_EPROTO;
        }
        memset(ent, 0, sizeof *ent);
        ent->name = d->name;
        ent->st.size = e.t.end_of_file;
        ent->st.alloc_size = e.t.allocation_size;
        ent->st.creation_time = e.t.creation_time;
        ent->st.last_access_time = e.t.last_access_time;
        ent->st.last_write_time = e.t.last_write_time;
        ent->st.change_time = e.t.change_time;
        ent->st.attributes = e.t.file_attributes;
        ent->st.is_dir = (e.t.file_attributes & SMBW_FILE_ATTRIBUTE_DIRECTORY) != 0;
        return 0;
    }
}

void smbw_dir_free(smbw_dir *d)
{
    if (!d)
        return;
    (void)smbw_file_free(d->f);
    buf_free(&d->data);
    free(d->name);
    free(d);
}
