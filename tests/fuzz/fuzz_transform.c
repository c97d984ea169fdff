/* SMB3 TRANSFORM_HEADER and decryption. The first input byte picks the
 * cipher (1..4) and the mode; the rest is a transform frame:
 *   bit 7 clear: the frame is decoded (wire_decode_transform_hdr, the
 *     decoder the core and smb2_decrypt use) and decrypted with a fixed key
 *   bit 7 set: the rest is a plaintext that is encrypted with the fixed key
 *     and a fixed nonce, decrypted back (must round-trip), then decrypted
 *     again with one byte flipped (must fail). */
#include "fuzz.h"

#include "lib/core/sign.h"

static const uint8_t key32[32] = {0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba,
                                  0xcb, 0xdc, 0xed, 0xfe, 0x0f, 0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a,
                                  0x79, 0x88, 0x97, 0xa6, 0xb5, 0xc4, 0xd3, 0xe2, 0xf1, 0x00};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint16_t cipher = (uint16_t)(data[0] % 4 + 1);
    size_t keylen = cipher >= 3 ? 32 : 16;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    smbw_buf out;
    buf_init(&out);
    if (!(data[0] & 0x80)) {
        smb2_transform_hdr th;
        int a = wire_decode_transform_hdr(p, n, &th);
        if (a == 0) {
            fz_inside(th.aad, th.aad_len, p, n, "transform AAD");
            fz_inside(th.payload, th.payload_len, p, n, "transform payload");
            fz_check(th.payload_len == th.original_size && th.payload_len > 0,
                     "transform payload size");
        }
        if (smb2_decrypt(cipher, key32, keylen, p, n, &out) == 0)
            fz_check(a == 0 && out.len + SMB2_TRANSFORM_HDR_SIZE == n, "plaintext size mismatch");
        buf_free(&out);
        return 0;
    }
    uint8_t nonce[16];
    memset(nonce, 0x5a, sizeof nonce);
    smbw_buf frame;
    buf_init(&frame);
    if (smb2_encrypt_nonce(cipher, key32, keylen, 0x1122334455667788ull, nonce, p, n, &frame) ==
        0) {
        fz_check(frame.len == n + SMB2_TRANSFORM_HDR_SIZE, "ciphertext size");
        fz_check(smb2_decrypt(cipher, key32, keylen, frame.p, frame.len, &out) == 0,
                 "own ciphertext does not decrypt");
        fz_check(out.len == n && (n == 0 || memcmp(out.p, p, n) == 0), "round trip differs");
        smb2_transform_hdr th;
        fz_check(wire_decode_transform_hdr(frame.p, frame.len, &th) == 0 &&
                     th.session_id == 0x1122334455667788ull,
                 "session id of own frame");
        /* Flip one byte of the authenticated part (past ProtocolId). */
        size_t at = 20 + (n ? (size_t)p[0] % (frame.len - 20) : 0);
        frame.p[at] ^= 0x01;
        buf_reset(&out);
        fz_check(smb2_decrypt(cipher, key32, keylen, frame.p, frame.len, &out) != 0,
                 "tampered frame decrypts");
    }
    buf_free(&frame);
    buf_free(&out);
    return 0;
}
