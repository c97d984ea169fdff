/* Create contexts: the first input byte picks the form; the rest is
 *   even: a raw SMB2_CREATE_CONTEXT chain for wire_walk_create_contexts
 *         (and the QFid, durable and lease decoders), or a whole oplock or
 *         lease break notification / lease break acknowledgment answer
 *   odd:  a CREATE response body (after a valid header) for
 *         wire_decode_create, whose context list is then walked again. */
#include "fuzz.h"

struct range {
    const uint8_t *p;
    size_t len;
    int n;
};

static int cb(void *ud, const uint8_t *name, size_t namelen, const uint8_t *data, size_t datalen)
{
    struct range *r = ud;
    fz_inside(name, namelen, r->p, r->len, "context name");
    fz_inside(data, datalen, r->p, r->len, "context data");
    (void)fz_touch(name, namelen);
    (void)fz_touch(data, datalen);
    r->n++;
    fz_check(r->n <= (int)(r->len / 16) + 1, "more contexts than could fit");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (data[0] % 2 == 0) {
        struct range r = {p, n, 0};
        FZ_IGNORE(wire_walk_create_contexts(p, n, cb, &r));
        uint8_t id[WIRE_DISK_ID_LEN];
        bool found = true;
        if (wire_decode_qfid(p, n, id, &found) != 0)
            found = false;
        (void)found;
        uint8_t lvl, fid[16];
        if (wire_decode_oplock_break(p, n, &lvl, fid) == 0)
            fz_check(lvl <= SMB2_OPLOCK_LEVEL_II, "a break to a level above II accepted");
        smb2_durable_rsp d;
        if (wire_decode_durable(p, n, &d) != 0)
            fz_check(!d.granted, "a refused durable answer left granted set");
        smb2_lease l;
        if (wire_decode_lease(p, n, &l) != 0)
            fz_check(!l.granted, "a refused lease answer left granted set");
        else if (l.granted)
            fz_check(l.state <= 7, "a lease state beyond R|H|W accepted");
        smb2_lease_break lb;
        if (wire_decode_lease_break(p, n, &lb) == 0)
            fz_check(!(lb.new_state & ~lb.current_state), "a lease break that adds state");
        uint8_t key[16];
        uint32_t st;
        if (wire_decode_lease_ack(p, n, key, &st) == 0)
            fz_check(st <= 7, "a lease ack answer state beyond R|H|W accepted");
        return 0;
    }
    size_t len;
    uint8_t *msg = fz_response(SMB2_CREATE, 0, p, n, &len);
    if (!msg)
        return 0;
    smb2_hdr h;
    smb2_create_rsp cr;
    if (wire_decode_hdr(msg, len, &h) == 0 && wire_check_response(msg, len, &h) == 0 &&
        wire_decode_create(msg, len, &cr) == 0) {
        fz_inside(cr.contexts, cr.contexts_len, msg, len, "create contexts");
        struct range r = {msg, len, 0};
        fz_check(wire_walk_create_contexts(cr.contexts, cr.contexts_len, cb, &r) == 0,
                 "accepted contexts fail a second walk");
    }
    free(msg);
    return 0;
}
