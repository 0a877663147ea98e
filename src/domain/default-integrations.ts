// The integrations every installation has; the seed use case inserts whichever is missing.
import type { NewIntegration } from './integration.entity';

export const DEFAULT_INTEGRATIONS: readonly NewIntegration[] = [
  {
    id: 'facebook',
    name: 'Facebook Messenger',
    description: 'Connect with Facebook Messenger',
    status: false,
    settings: { verify: 'ai-chatbot-framework', secret: '', page_access_token: '' },
  },
  {
    id: 'chat_widget',
    name: 'Chat Widget',
    description: 'Add a chat widget to your website',
    status: true,
    settings: {},
  },
];
