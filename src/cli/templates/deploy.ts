/** The deploy block every starter ends with: the local process target on `port`, with a health check. */
export function localDeployBlock(port: number): string {
  return `# \`agentspec apply\` starts the runtime on this port.
deploy "local" target "process" {
  port ${port}
  default true
  health {
    path "/healthz"
  }
}
`;
}
