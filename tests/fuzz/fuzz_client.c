/* The whole client against arbitrary server bytes: the input is the server's
 * byte stream (4-byte transport headers and SMB2 messages, as recorded from
 * Samba by record-seeds.sh). The core is fed it directly, frame by frame as
 * the client waits (session.c: no socket, no thread), while the real client
 * runs NEGOTIATE, then the session script of session.c: NTLM session setup,
 * tree connect, create, write, read, stat, resume key + copychunk, an FSCTL,
 * directory listing, close, logoff. Any step's failure just ends the run; a crash, hang, leak or
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
