// The IoT.04 Enrolment CA: public exports.
export { BINDINGS_CSV_HEADER, type ParsedBindings, parseBindingsCsv } from "./bindings-csv.js";
export { type BindingInput, BindingError, type LineProblem, type VehicleBinding } from "./bindings.js";
export { ECA_CAUSES, type EcaCause, ecaProblem } from "./causes.js";
export { ECA_PORTS, type EcaConfig, ecaConfigSection } from "./config.js";
export { EnrolmentProcedures, type EnrolmentOptions } from "./procedures/enrolment.js";
export { enrolmentRoutes, type EnrolmentRoutesOptions } from "./routes/enrolment.js";
export { startEca } from "./start.js";
export type { EcaStore, IssuedCertificate } from "./store.js";
export { LmdbEcaStore } from "./store-lmdb.js";
