@Bxj
location../outside.binp