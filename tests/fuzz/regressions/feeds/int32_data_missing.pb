€€@€€@
Bhuge