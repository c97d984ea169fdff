/* Message ids, credits and encryption: what a server does with requests a
 * correct client never sends. A MessageId used before or beyond the credit
 * window (MS-SMB2 3.3.5.2.3), one out of order within it (3.3.1.1), a
 * CreditCharge too small for the payload (3.3.5.2.5), the credits granted
 * (3.3.1.2), and a request in the clear on a session or share that must be
 * encrypted (3.3.5.2.9, 3.3.5.2.11). Each is sent through the library's
 * smbw_conn_override_next: the request is built by the library as usual,
 * with the one header field the case chooses. */
#include <stdlib.h>
#include <string.h>

#include "../smbconform.h"

#define MiB (1024u * 1024u)
#define SHAREFLAG_ENCRYPT_DATA 0x00008000u /* MS-SMB2 2.2.10 */

/* What came back: "STATUS_X" (STATUS_SUCCESS for 0), or the connection
 * dropped. */
static const char *answer(cf_env *e, smbw_conn *c, int rc)
{
    if (rc == 0)
        return "STATUS_SUCCESS";
    if (smbw_conn_is_dead(c) || smbw_last_status(c) == 0)
        return cf_outcome(e, c, rc);
    return smbw_status_name(smbw_last_status(c));
}

/* The next request on c with the header fields of o. */
static int override(smbw_conn *c, uint32_t set, uint64_t mid, uint16_t charge, uint16_t request)
{
    smbw_header_override o = SMBW_HEADER_OVERRIDE_INIT;
    o.set = set;
    o.message_id = mid;
    o.credit_charge = charge;
    o.credit_request = request;
    return smbw_conn_override_next(c, &o);
}

/* A link of the case's own, negotiated as the run's (its numbering is
 * disturbed on purpose, and the server may end it). */
static int run_link(cf_env *e, bool session, bool tree, cf_link **l)
{
    neg_want w = {e->tg->min_proto ? e->tg->min_proto : SMBW_SMB2_02,
                  e->tg->max_proto ? e->tg->max_proto : SMBW_SMB3_11,
                  SMBW_SIGN_AUTO,
                  SMBW_ENCRYPT_AUTO,
                  SMBW_CIPHER_NONE,
                  session,
                  tree,
                  0,
                  0};
    return cf_neg_link(e, &w, l);
}

static int own_link(cf_env *e, cf_link **l)
{
    return run_link(e, true, false, l);
}

/* ---- message ids (3.3.5.2.3, 3.3.1.1) ----------------------------------- */

/* The ECHO sent with MessageId mid: refused means the connection ended
 * (3.3.5.2.3: the server SHOULD terminate it) or an error answer. */
static enum cf_result refused_mid(cf_env *e, cf_link *l, uint64_t mid, const char *what)
{
    int rc = override(l->c, SMBW_HDR_MESSAGE_ID, mid, 0, 0);
    if (rc != 0)
        return cf_error(e, "cannot set the MessageId: %s", smbw_conn_errmsg(l->c));
    rc = smbw_conn_echo(l->c);
    snprintf(e->expected, sizeof(e->expected),
             "the connection terminated or an error status for %s %llu", what,
             (unsigned long long)mid);
    snprintf(e->got, sizeof(e->got), "%s", answer(e, l->c, rc));
    return rc != 0 ? CF_PASS : CF_FAIL;
}

/* 3.3.1.1: a sequence number once received is never accepted again. An ECHO
 * answered, then an ECHO with its MessageId. */
static enum cf_result mid_reused(cf_env *e)
{
    cf_link *l;
    if (own_link(e, &l) != 0)
        return cf_error(e, "%s", e->reason);
    uint64_t used = smbw_conn_next_message_id(l->c);
    int rc = smbw_conn_echo(l->c);
    if (rc != 0)
        return cf_error(e, "the first ECHO: %s", cf_outcome(e, l->c, rc));
    return refused_mid(e, l, used, "the MessageId of the answered ECHO,");
}

/* 3.3.5.2.3: a MessageId past the window the credits granted (the next id
 * plus the credits held, with nothing in flight). */
static enum cf_result mid_beyond_window(cf_env *e)
{
    cf_link *l;
    if (own_link(e, &l) != 0)
        return cf_error(e, "%s", e->reason);
    uint64_t beyond = smbw_conn_next_message_id(l->c) + smbw_conn_credits(l->c);
    return refused_mid(e, l, beyond, "the first MessageId past the window,");
}

/* 3.3.1.1: requests may arrive out of order: the last MessageId of the
 * window is served before the ones below it, which are served after. */
static enum cf_result mid_out_of_order(cf_env *e)
{
    cf_link *l;
    if (own_link(e, &l) != 0)
        return cf_error(e, "%s", e->reason);
    uint32_t credits = smbw_conn_credits(l->c);
    if (credits < 3)
        return cf_skip(e, "the server granted %u credits (3 needed)", credits);
    uint64_t last = smbw_conn_next_message_id(l->c) + credits - 1;
    int rc = override(l->c, SMBW_HDR_MESSAGE_ID, last, 0, 0);
    if (rc != 0)
        return cf_error(e, "cannot set the MessageId: %s", smbw_conn_errmsg(l->c));
    rc = smbw_conn_echo(l->c);
    snprintf(e->expected, sizeof(e->expected),
             "an ECHO with MessageId %llu (the window's last) answered, then one with the "
             "lowest",
             (unsigned long long)last);
    if (rc != 0)
        return cf_fail(e, e->expected, "the last id: %s", answer(e, l->c, rc));
    rc = smbw_conn_echo(l->c);
    snprintf(e->got, sizeof(e->got), "the last id: STATUS_SUCCESS; the lowest: %s",
             answer(e, l->c, rc));
    return rc == 0 ? CF_PASS : CF_FAIL;
}

/* ---- CreditCharge (3.3.5.2.5, 3.1.5.2) ---------------------------------- */

/* big.bin of 1 MiB pattern bytes on the main link, open for reading and
 * writing; skips where 1 MiB is not one multi-credit request. */
static enum cf_result big_file(cf_env *e, bool fill, smbw_file **f)
{
    smbw_conn *c = e->main.c;
    uint32_t caps = smbw_conn_server_capabilities(c);
    if (smbw_conn_dialect(c) < SMBW_SMB2_10 || !(caps & 0x04u) || /* LARGE_MTU */
        smbw_conn_max_read(c) < MiB || smbw_conn_max_write(c) < MiB)
        return cf_skip(e,
                       "no multi-credit requests of 1 MiB on %s (capabilities 0x%x, "
                       "MaxRead %u, MaxWrite %u)",
                       smbw_dialect_name(smbw_conn_dialect(c)), caps, smbw_conn_max_read(c),
                       smbw_conn_max_write(c));
    int rc = cf_open(e, e->main.t, "big.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC, f);
    if (rc == 0 && fill)
        rc = cf_fill(*f, 0, MiB, 1);
    if (rc != 0)
        return cf_error(e, "cannot set up big.bin: %s", cf_outcome(e, c, rc));
    return CF_PASS;
}

/* 3.3.5.2.5: a 1 MiB READ or WRITE (CreditCharge 16 by 3.1.5.2) sent with
 * CreditCharge charge < 16 fails with STATUS_INVALID_PARAMETER; the
 * connection carries on and a WRITE writes nothing. */
static enum cf_result charge_too_small(cf_env *e, bool write, uint16_t charge)
{
    smbw_file *f;
    enum cf_result r = big_file(e, !write, &f);
    if (r != CF_PASS)
        return r;
    smbw_conn *c = e->main.c;
    uint8_t *buf = malloc(MiB);
    if (buf == NULL)
        return cf_error(e, "out of memory");
    for (uint32_t i = 0; i < MiB; i++)
        buf[i] = cf_pattern(i, 2);
    int rc = override(c, SMBW_HDR_CREDIT_CHARGE, 0, charge, 0);
    size_t got = 0;
    if (rc == 0)
        rc = write ? smbw_file_pwrite(f, buf, MiB, 0) : smbw_file_pread(f, buf, MiB, 0, &got);
    free(buf);
    snprintf(e->expected, sizeof(e->expected),
             "STATUS_INVALID_PARAMETER for a 1 MiB %s with CreditCharge %u (16 needed), the "
             "connection carrying on",
             write ? "WRITE" : "READ", charge);
    snprintf(e->got, sizeof(e->got), "%s", answer(e, c, rc));
    if (rc == 0 || smbw_last_status(c) != SMBW_STATUS_INVALID_PARAMETER || smbw_conn_is_dead(c))
        return CF_FAIL;
    smbw_stat st;
    rc = smbw_file_stat(f, &st);
    if (rc != 0)
        return cf_fail(e, e->expected, "%s, then the file's size: %s", e->got, answer(e, c, rc));
    if (write && st.size != 0)
        return cf_fail(e, e->expected, "%s, but the file grew to %llu bytes", e->got,
                       (unsigned long long)st.size);
    return CF_PASS;
}

static enum cf_result charge_small_read(cf_env *e)
{
    return charge_too_small(e, false, 1);
}
static enum cf_result charge_small_write(cf_env *e)
{
    return charge_too_small(e, true, 15);
}
static enum cf_result charge_zero(cf_env *e)
{
    return charge_too_small(e, false, 0);
}

/* 3.3.5.2.5 fails a request only when its CreditCharge is below what the
 * payload needs: 17 for a 1 MiB READ is served. */
static enum cf_result charge_above_needed(cf_env *e)
{
    smbw_file *f;
    enum cf_result r = big_file(e, true, &f);
    if (r != CF_PASS)
        return r;
    smbw_conn *c = e->main.c;
    uint8_t *buf = malloc(MiB);
    if (buf == NULL)
        return cf_error(e, "out of memory");
    int rc = override(c, SMBW_HDR_CREDIT_CHARGE, 0, 17, 0);
    size_t got = 0;
    if (rc == 0)
        rc = smbw_file_pread(f, buf, MiB, 0, &got);
    uint32_t good = 0;
    while (rc == 0 && good < got && buf[good] == cf_pattern(good, 1))
        good++;
    free(buf);
    snprintf(e->expected, sizeof(e->expected),
             "a 1 MiB READ with CreditCharge 17 (16 needed) served whole");
    snprintf(e->got, sizeof(e->got), "%s, %zu bytes, the first %u right", answer(e, c, rc), got,
             good);
    return rc == 0 && got == MiB && good == MiB ? CF_PASS : CF_FAIL;
}

/* ---- credits granted (3.3.1.2) ------------------------------------------ */

/* The NEGOTIATE answer grants at least one credit (MUST); an ECHO asking for
 * 32 more than it spends gets a non-zero grant (SHOULD). */
static enum cf_result credits_granted(cf_env *e)
{
    cf_link *l;
    if (run_link(e, false, false, &l) != 0)
        return cf_error(e, "%s", e->reason);
    uint32_t after_negotiate = smbw_conn_credits(l->c);
    int rc = smbw_session_new(&l->s, l->c, &e->tg->creds);
    if (rc != 0)
        return cf_error(e, "SESSION_SETUP: %s", cf_outcome(e, l->c, rc));
    rc = override(l->c, SMBW_HDR_CREDIT_REQUEST, 0, 0, 33);
    uint32_t before = smbw_conn_credits(l->c);
    if (rc == 0)
        rc = smbw_conn_echo(l->c);
    if (rc != 0)
        return cf_error(e, "the ECHO: %s", cf_outcome(e, l->c, rc));
    /* The ECHO spent one: the grant is the difference plus one. */
    long granted = (long)smbw_conn_credits(l->c) - (long)before + 1;
    snprintf(e->expected, sizeof(e->expected),
             "at least 1 credit for NEGOTIATE, a non-zero grant for an ECHO asking for 33");
    snprintf(e->got, sizeof(e->got), "%u after NEGOTIATE, %ld for the ECHO", after_negotiate,
             granted);
    return after_negotiate >= 1 && granted >= 1 ? CF_PASS : CF_FAIL;
}

/* 3.3.1.2: the server never lets the client's credits drop to zero. ECHOs
 * asking for no credits, one at a time, more of them than the client holds:
 * after each the client still has one to send the next. */
static enum cf_result credits_never_zero(cf_env *e)
{
    cf_link *l;
    if (own_link(e, &l) != 0)
        return cf_error(e, "%s", e->reason);
    uint32_t start = smbw_conn_credits(l->c), low = start;
    uint32_t n = start + 4;
    snprintf(e->expected, sizeof(e->expected),
             "%u ECHOs asking for no credits all sent: the client never at zero credits", n);
    for (uint32_t i = 0; i < n; i++) {
        int rc = override(l->c, SMBW_HDR_CREDIT_REQUEST, 0, 0, 0);
        if (rc == 0)
            rc = smbw_conn_echo(l->c);
        if (rc != 0)
            return cf_fail(e, e->expected, "ECHO %u of %u: %s (credits before it: %u)", i + 1, n,
                           answer(e, l->c, rc), low);
        uint32_t now = smbw_conn_credits(l->c);
        if (now < low)
            low = now;
        if (now == 0)
            return cf_fail(e, e->expected, "0 credits after ECHO %u of %u", i + 1, n);
    }
    snprintf(e->got, sizeof(e->got), "%u credits at the start, at least %u after each", start, low);
    return CF_PASS;
}

/* ---- encryption required (3.3.5.2.9, 3.3.5.2.11) ------------------------ */

/* 3.3.5.2.9: on a session the server made encrypted
 * (SMB2_SESSION_FLAG_ENCRYPT_DATA), a request in the clear (signed) fails
 * with STATUS_ACCESS_DENIED: a TREE_CONNECT, which no share's rule covers.
 * The session carries on encrypted. */
static enum cf_result session_plain_refused(cf_env *e)
{
    cf_link *l;
    int rc = run_link(e, true, false, &l);
    if (rc != 0)
        return cf_error(e, "%s", e->reason);
    if (smbw_conn_dialect(l->c) < SMBW_SMB3_00)
        return cf_skip(e, "no encryption on %s", smbw_dialect_name(smbw_conn_dialect(l->c)));
    if (!smbw_session_encrypted(l->s))
        return cf_skip(e, "the server does not require encryption of the session (Samba: "
                          "server smb encrypt = required)");
    smbw_tree *t = NULL;
    rc = override(l->c, SMBW_HDR_UNENCRYPTED, 0, 0, 0);
    if (rc == 0)
        rc = smbw_tree_connect(&t, l->s, e->tg->share);
    smbw_tree_free(t);
    snprintf(e->expected, sizeof(e->expected),
             "STATUS_ACCESS_DENIED for a TREE_CONNECT in the clear on an encrypted session");
    snprintf(e->got, sizeof(e->got), "%s", answer(e, l->c, rc));
    if (rc == 0 || smbw_last_status(l->c) != SMBW_STATUS_ACCESS_DENIED)
        return CF_FAIL;
    rc = smbw_tree_connect(&t, l->s, e->tg->share);
    smbw_tree_free(t);
    if (rc != 0)
        return cf_fail(e, e->expected, "%s, then an encrypted TREE_CONNECT: %s", e->got,
                       answer(e, l->c, rc));
    return CF_PASS;
}

/* 3.3.5.2.11: on a share that requires encryption
 * (SMB2_SHAREFLAG_ENCRYPT_DATA), a request in the clear fails with
 * STATUS_ACCESS_DENIED: a QUERY_INFO of an open file. The open carries on. */
static enum cf_result share_plain_refused(cf_env *e)
{
    cf_link *l;
    int rc = run_link(e, true, true, &l);
    if (rc != 0)
        return cf_error(e, "%s", e->reason);
    if (smbw_conn_dialect(l->c) < SMBW_SMB3_00)
        return cf_skip(e, "no encryption on %s", smbw_dialect_name(smbw_conn_dialect(l->c)));
    if (!(smbw_tree_share_flags(l->t) & SHAREFLAG_ENCRYPT_DATA))
        return cf_skip(e,
                       "the share does not require encryption (ShareFlags 0x%x; Samba: "
                       "smb encrypt = required on the share)",
                       smbw_tree_share_flags(l->t));
    smbw_file *f;
    rc = cf_open(e, l->t, "plain.bin", SMBW_O_RDWR | SMBW_O_CREAT, &f);
    if (rc != 0)
        return cf_error(e, "cannot open plain.bin: %s", cf_outcome(e, l->c, rc));
    smbw_stat st;
    rc = override(l->c, SMBW_HDR_UNENCRYPTED, 0, 0, 0);
    if (rc == 0)
        rc = smbw_file_stat(f, &st);
    snprintf(e->expected, sizeof(e->expected),
             "STATUS_ACCESS_DENIED for a QUERY_INFO in the clear on an encrypted share");
    snprintf(e->got, sizeof(e->got), "%s%s", answer(e, l->c, rc),
             smbw_session_encrypted(l->s) ? " (the session is encrypted as well)" : "");
    if (rc == 0 || smbw_last_status(l->c) != SMBW_STATUS_ACCESS_DENIED)
        return CF_FAIL;
    rc = smbw_file_stat(f, &st);
    if (rc != 0)
        return cf_fail(e, e->expected, "%s, then an encrypted QUERY_INFO: %s", e->got,
                       answer(e, l->c, rc));
    return CF_PASS;
}

#define SEQ "MS-SMB2 3.3.5.2.3"
#define CHG "MS-SMB2 3.3.5.2.5"
const cf_case cf_cases_transport[] = {
    {"transport_message_id_reused", SEQ,
     "an ECHO with the MessageId of one already answered: connection ended or an error",
     mid_reused},
    {"transport_message_id_beyond_window", SEQ,
     "a MessageId one past the credits granted: connection ended or an error", mid_beyond_window},
    {"transport_message_id_out_of_order", "MS-SMB2 3.3.1.1",
     "the window's last MessageId first, then the lowest: both answered", mid_out_of_order},
    {"transport_credit_charge_too_small_read", CHG,
     "a 1 MiB READ with CreditCharge 1: STATUS_INVALID_PARAMETER", charge_small_read},
    {"transport_credit_charge_too_small_write", CHG,
     "a 1 MiB WRITE with CreditCharge 15: STATUS_INVALID_PARAMETER, nothing written",
     charge_small_write},
    {"transport_credit_charge_zero", CHG,
     "a 1 MiB READ with CreditCharge 0: STATUS_INVALID_PARAMETER", charge_zero},
    {"transport_credit_charge_above_needed", CHG,
     "a 1 MiB READ with CreditCharge 17 (16 needed): served", charge_above_needed},
    {"transport_credits_granted", "MS-SMB2 3.3.1.2",
     "NEGOTIATE grants a credit; an ECHO asking for 33 gets a non-zero grant", credits_granted},
    {"transport_credits_never_zero", "MS-SMB2 3.3.1.2",
     "ECHOs asking for no credits, more than held: the client never at zero", credits_never_zero},
    {"session_encrypt_required_plain_refused", "MS-SMB2 3.3.5.2.9",
     "a request in the clear on a session that must encrypt: STATUS_ACCESS_DENIED",
     session_plain_refused},
    {"session_share_encrypt_plain_refused", "MS-SMB2 3.3.5.2.11",
     "a request in the clear on a share that must encrypt: STATUS_ACCESS_DENIED",
     share_plain_refused},
    {NULL, NULL, NULL, NULL},
};
