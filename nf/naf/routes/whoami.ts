// `GET /whoami`: the identity a request was authenticated as (the NAF's own resource when it
// proxies nothing).
import { defineRoutes } from "../../common/server.js";

/** `GET /whoami`, mounted on a scope that has the GBA plugin: `await scope.register(whoamiRoutes)`. */
export const whoamiRoutes = defineRoutes("naf-whoami", async (scope) => {
  scope.get("/whoami", { onRequest: scope.gbaAuthenticate }, async (request) => {
    const g = request.gba;
    if (!g) throw new Error("gbaAuthenticate let an unauthenticated request through");
    return {
      btid: g.btid,
      impi: g.impi,
      impus: g.impus,
      msisdn: g.msisdn ?? null,
      ussList: g.ussList,
      nafId: g.nafId,
      method: g.method,
      keyKind: g.keyKind,
      keyExpiryTime: g.keyExpiryTime,
    };
  });
});
