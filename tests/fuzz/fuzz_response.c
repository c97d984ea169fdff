/* SMB2 header + the response validation table + every response decoder. The
 * input is one whole response message (64-byte header first), as the core
 * hands it to a decoder after framing; the decoder is the one for the
 * header's Command, run only when wire_check_response accepted the message
 * (that is the core's contract). Borrowed pointers must stay inside the
 * input. */
#include "fuzz.h"

static int ctx_cb(void *ud, const uint8_t *name, size_t namelen, const uint8_t *data,
                  size_t datalen)
{
    const uint8_t *const *range = ud;
    size_t len = (size_t)(range[1] - range[0]);
    fz_inside(name, namelen, range[0], len, "create context name");
    fz_inside(data, datalen, range[0], len, "create context data");
    (void)fz_touch(name, namelen);
    (void)fz_touch(data, datalen);
    return 0;
}

static void info_decoders(const uint8_t *p, size_t n)
{
    smb2_file_times t;
    uint32_t attrs, maxname;
    smb2_fs_size_info fss;
    FZ_IGNORE(wire_decode_network_open_info(p, n, &t));
    {
        uint64_t index;
        FZ_IGNORE(wire_decode_internal_info(p, n, &index));
    }
    FZ_IGNORE(wire_decode_fs_attribute_info(p, n, &attrs, &maxname));
    FZ_IGNORE(wire_decode_fs_size_info(p, n, &fss));
}

int LLVMFuzzerTestOneInput(const uint8_t *msg, size_t len)
{
    smb2_hdr h;
    if (wire_decode_hdr(msg, len, &h) != 0)
        return 0;
    if (wire_check_response(msg, len, &h) != 0)
        return 0;
    if (wire_status_is_error_response(h.command, h.status)) {
        smb2_error_rsp e;
        if (wire_decode_error(msg, len, &e) == 0) {
            fz_inside(e.data, e.data_len, msg, len, "error data");
            (void)fz_touch(e.data, e.data_len);
        }
        /* A copychunk limits reply comes with an IOCTL body despite the
         * error status: the IOCTL decoder must cope as well. */
        if (h.command != SMB2_IOCTL)
            return 0;
    }
    switch (h.command) {
    case SMB2_NEGOTIATE: {
        smb2_negotiate_rsp r;
        if (wire_decode_negotiate(msg, len, &r) == 0)
            fz_inside(r.security_buffer, r.security_buffer_len, msg, len, "negotiate token");
        break;
    }
    case SMB2_SESSION_SETUP: {
        smb2_session_setup_rsp r;
        if (wire_decode_session_setup(msg, len, &r) == 0)
            fz_inside(r.token, r.token_len, msg, len, "session token");
        break;
    }
    case SMB2_TREE_CONNECT: {
        smb2_tree_connect_rsp r;
        FZ_IGNORE(wire_decode_tree_connect(msg, len, &r));
        break;
    }
    case SMB2_CREATE: {
        smb2_create_rsp r;
        if (wire_decode_create(msg, len, &r) == 0) {
            fz_inside(r.contexts, r.contexts_len, msg, len, "create contexts");
            const uint8_t *range[2] = {msg, msg + len};
            int rc = wire_walk_create_contexts(r.contexts, r.contexts_len, ctx_cb, range);
            fz_check(rc == 0, "wire_decode_create accepted contexts the walker rejects");
        }
        break;
    }
    case SMB2_CLOSE: {
        smb2_close_rsp r;
        FZ_IGNORE(wire_decode_close(msg, len, &r));
        break;
    }
    case SMB2_READ: {
        smb2_read_rsp r;
        if (wire_decode_read(msg, len, &r) == 0) {
            fz_inside(r.data, r.data_len, msg, len, "read data");
            (void)fz_touch(r.data, r.data_len);
        }
        break;
    }
    case SMB2_WRITE: {
        smb2_write_rsp r;
        FZ_IGNORE(wire_decode_write(msg, len, &r));
        break;
    }
    case SMB2_IOCTL: {
        smb2_ioctl_rsp r;
        if (wire_decode_ioctl(msg, len, &r) == 0) {
            fz_inside(r.input, r.input_len, msg, len, "ioctl input");
            fz_inside(r.output, r.output_len, msg, len, "ioctl output");
            srv_resume_key k;
            srv_copychunk_rsp cc;
            alloc_range ranges[8];
            size_t nr = 0;
            validate_negotiate_info v;
            FZ_IGNORE(wire_decode_resume_key(r.output, r.output_len, &k));
            FZ_IGNORE(wire_decode_copychunk_rsp(r.output, r.output_len, &cc));
            if (wire_decode_allocated_ranges(r.output, r.output_len, ranges, 8, &nr) == 0)
                fz_check(nr <= 8, "allocated ranges overflow the array");
            FZ_IGNORE(wire_decode_validate_negotiate(r.output, r.output_len, &v));
        }
        break;
    }
    case SMB2_QUERY_DIRECTORY: {
        smb2_query_dir_rsp r;
        if (wire_decode_query_dir(msg, len, &r) == 0) {
            fz_inside(r.data, r.data_len, msg, len, "query dir data");
            size_t pos = 0;
            smb2_dirent e;
            for (size_t i = 0; i <= r.data_len / 8 + 1; i++) {
                if (wire_next_dirent(r.data, r.data_len, &pos, &e) != 0)
                    break;
                fz_inside(e.name_utf16, e.name_len, r.data, r.data_len, "dirent name");
            }
        }
        break;
    }
    case SMB2_QUERY_INFO: {
        smb2_query_info_rsp r;
        if (wire_decode_query_info(msg, len, &r) == 0) {
            fz_inside(r.data, r.data_len, msg, len, "query info data");
            info_decoders(r.data, r.data_len);
        }
        break;
    }
    default:
        break;
    }
    return 0;
}
