/** What agentspec writes next to a spec and nobody should commit. */
export const GITIGNORE = `# agentspec state, its backup and lock
.agentspec.state.json
.agentspec.state.json.bak
.agentspec.state.json.lock
# runtime snapshots, logs and pid files written by apply
.agentspec/
`;
