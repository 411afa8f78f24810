"""The partner portal: e-mailed single-use sign-in links, and the pages a partner reads its money on."""
