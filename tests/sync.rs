//! (in progress) pushing the audit branch: races, rejections, spool.
