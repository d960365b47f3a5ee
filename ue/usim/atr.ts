// Answer To Reset of the simulated UICC (ISO/IEC 7816-3 §8.2, ETSI TS 102 221 §6.3),
// checked with pcsc-tools' ATR_analysis ("TCK = 96 (correct checksum)").
//
//   3B           TS  direct convention
//   9F           T0  TA1 and TD1 follow, 15 historical bytes
//   96           TA1 Fi = 512, Di = 32 (TS 102 221 §6.3.1 speed enhancement)
//   80           TD1 TD2 follows, protocol T=0 (the UICC protocol every terminal supports)
//   1F           TD2 TA3 follows, T=15 (global interface bytes)
//   C7           TA3 clock stop: no preference; supply classes A, B and C (TS 102 221 §6.2.1)
//   80 31 C0 73 D0 21 00 63 47 42 41 83 00 90 00    historical bytes, ISO/IEC 7816-4 §8.1.1
//                (what this simulator really does):
//                80           category: COMPACT-TLV data objects follow
//                31 C0        card service data: application selection by full and partial DF name
//                73 D0 21 00  card capabilities: DF selection by full DF name, partial DF name and
//                             file identifier; data coding 21; no command chaining, no logical
//                             channels besides the basic one
//                63 47 42 41  pre-issuing data "GBA"
//                83 00 90 00  status indicator: LCS 00, SW 9000
//   96           TCK, the XOR of T0..the last historical byte (ISO/IEC 7816-3 §8.2.5; present
//                because TD2 indicates T=15)
//
// How the card answers (T=0 style '61 xx' when Le is missing) is described in usim-applet.ts.
import { hexToBytes } from "../../wire/bytes.js";

export const UICC_ATR: Uint8Array = hexToBytes("3b9f96801fc78031c073d02100634742418300900096", "ATR");
