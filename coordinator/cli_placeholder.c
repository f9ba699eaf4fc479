/* cli placeholder */ typedef int cli_placeholder;
