/* The whole client against arbitrary server bytes: the input is the server's
 * byte stream (4-byte transport headers and SMB2 messages, as recorded from
 * Samba by record-seeds.sh). It is written into one end of a socketpair whose
 * write side is then shut down, and the real client (adopted socket,
 * NEGOTIATE, then the session script of session.c: NTLM session setup, tree
 * connect, create, write, read, stat, resume key + copychunk, an FSCTL,
 * directory listing, close, logoff) runs on the other end with a 200 ms
 * timeout. Any step's failure just ends the run; a crash, hang, leak or
 * sanitizer report is a finding. */
#include "fuzz.h"
#include "session.h"

#define FZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    (void)fz_client_over_stream(data, size, 200);
    return 0;
}
