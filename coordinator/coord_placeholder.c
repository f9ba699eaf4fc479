/* coord placeholder */ typedef int coord_placeholder;
