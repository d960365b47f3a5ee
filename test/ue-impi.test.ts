import { describe, expect, it } from "vitest";
import { bsfFqdnFromImsi, IdentityError, impiFromImsi, splitImsi } from "../ue/impi.js";

describe("IMPI and BSF FQDN from the IMSI (TS 23.003 §13.3, §16.2)", () => {
  it("gives the TS 23.003 §13.3 example, 2-digit MNC padded to 3 digits", () => {
    expect(impiFromImsi("234150999999999", 2)).toBe("234150999999999@ims.mnc015.mcc234.3gppnetwork.org");
  });

  it("keeps a 3-digit MNC as it is", () => {
    expect(impiFromImsi("310150123456789", 3)).toBe("310150123456789@ims.mnc150.mcc310.3gppnetwork.org");
    expect(bsfFqdnFromImsi("310150123456789", 3)).toBe("bsf.mnc150.mcc310.pub.3gppnetwork.org");
  });

  it("reads a different MNC when EF_AD says 3 digits instead of 2", () => {
    expect(splitImsi("001010123456789", 2)).toEqual({ mcc: "001", mnc: "01", msin: "0123456789" });
    expect(splitImsi("001010123456789", 3)).toEqual({ mcc: "001", mnc: "010", msin: "123456789" });
    expect(bsfFqdnFromImsi("001010123456789", 2)).toBe("bsf.mnc001.mcc001.pub.3gppnetwork.org");
  });

  it("refuses what is not an IMSI or an MNC length", () => {
    expect(() => impiFromImsi("12345", 2)).toThrow(IdentityError);
    expect(() => impiFromImsi("00101012345678a", 2)).toThrow(IdentityError);
    expect(() => impiFromImsi("001010123456789", 4)).toThrow(/MNC length/);
  });
});
