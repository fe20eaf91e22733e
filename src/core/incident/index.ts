export {
  addIncidentStep,
  closeIncident,
  type IncidentRecord,
  type IncidentStep,
  listIncidents,
  openIncident,
} from './incident.js';
export { preventionChecks } from './prevention.js';
export { incidentReport, type PreventionCheck } from './report.js';
