/* agent placeholder */ typedef int agent_placeholder;
