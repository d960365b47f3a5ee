// @peculiar/x509 needs reflect-metadata loaded first and a WebCrypto provider (node's).
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto);

export { x509 };
