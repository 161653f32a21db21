import { quote } from '../../lang/format-words.ts';
import { localDeployBlock } from './deploy.ts';
import { GITIGNORE } from './gitignore.ts';
import type { Template } from './index.ts';

export const supportTemplate: Template = {
  name: 'support',
  description: 'a triage agent that delegates to two specialists, with skills',
  agent: 'triage',
  port: 8080,
  spec: 'main.ias',
  files: (pkg, port) => [
    {
      path: 'main.ias',
      content: `# A support desk: a triage agent hands conversations to specialists.
# Every agent uses the built-in \`echo\` model, so the project runs without an API key.
package ${quote(pkg)} version "0.1.0" lang "2.0"

prompt "triage" {
  content "You read the customer's first message and decide who answers it: billing or technical support."
}

prompt "billing" {
  content "You answer billing questions: invoices, refunds and plan changes."
}

prompt "technical" {
  content "You help customers fix technical problems step by step."
}

# Skills are tools the agents may call; these two run a local command.
skill "lookup-ticket" {
  description "Look up a support ticket by its id"
  input {
    ticket_id string required
  }
  output {
    ticket string
  }
  tool command {
    binary "echo"
    args ["ticket"]
    timeout "5s"
  }
}

skill "search-kb" {
  description "Search the knowledge base for articles"
  input {
    query string required
  }
  output {
    articles string
  }
  tool command {
    binary "echo"
    args ["no articles found"]
    timeout "5s"
  }
}

agent "triage" {
  uses prompt "triage"
  uses skill "lookup-ticket"
  model "echo"
  strategy "router"
  max_turns 3
  delegate to agent "billing" when "the question is about money"
  delegate to agent "technical" when "the question is about a fault"
}

agent "billing" {
  uses prompt "billing"
  uses skill "lookup-ticket"
  model "echo"
  max_turns 5
}

agent "technical" {
  uses prompt "technical"
  uses skill "lookup-ticket"
  uses skill "search-kb"
  model "echo"
  max_turns 8
}

${localDeployBlock(port)}`,
    },
    { path: '.gitignore', content: GITIGNORE, optional: true },
  ],
};
