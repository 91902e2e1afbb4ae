//! Who wrote a message of a ticket's conversation.

use crate::labelled_enum;
use sea_orm::sea_query::StringLen;

labelled_enum! {
    /// The kind of a message in a support ticket conversation.
    MessageType {
        InitialRequest => "INITIAL_REQUEST", "Initial request";
        CustomerResponse => "CUSTOMER_RESPONSE", "Customer response";
        HumanAgentResponse => "HUMAN_AGENT_RESPONSE", "Human agent response";
        AiAgentResponse => "AI_AGENT_RESPONSE", "AI agent response";
    }
}

impl MessageType {
    /// Whether the message is an answer from support (human or AI), as opposed to the customer.
    pub fn is_agent(self) -> bool {
        matches!(self, Self::HumanAgentResponse | Self::AiAgentResponse)
    }
}
