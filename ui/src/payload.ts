/** age v1 payloads (age-encryption, on @noble/*): seal a container to a link's recipient, open one as a stream. */
import { Decrypter, Encrypter, identityToRecipient } from "age-encryption";
import { decode, type Sink, type Summary } from "./container";
import { ApiError } from "./relay";

export class DamagedError extends Error {}

/** Decrypts `ciphertext` with `identity` and decodes the container into `sink`. Resolves only once the last age
 * chunk verified and the container checked out; anything the sink got before a failure must be discarded. */
export async function openPayload(ciphertext: ReadableStream<Uint8Array>, identity: string, sink: Sink): Promise<Summary> {
  const d = new Decrypter();
  d.addIdentity(identity);
  let plain: ReadableStream<Uint8Array>;
  try {
    plain = await d.decrypt(ciphertext);
  } catch (e) {
    // A relay or network failure while the header was read is not damage: the download can resume.
    if (e instanceof ApiError) throw e;
    throw new DamagedError(`the payload could not be decrypted: ${(e as Error).message}`);
  }
  try {
    return await decode(plain, sink);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new DamagedError(`the payload is damaged: ${(e as Error).message}`);
  }
}

/** Encrypts a container to the recipients of the links' identities (one per recipient of the same upload). */
export async function sealPayload(container: Blob, ...identities: string[]): Promise<Blob> {
  return sealPayloadTo(container, ...(await Promise.all(identities.map((i) => identityToRecipient(i)))));
}

/** Encrypts a container to age recipients (`age1…`): the links' own, or a request's requester. */
export async function sealPayloadTo(container: Blob, ...recipients: string[]): Promise<Blob> {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  const out = await e.encrypt(container.stream() as ReadableStream<Uint8Array>);
  return new Response(out).blob();
}
