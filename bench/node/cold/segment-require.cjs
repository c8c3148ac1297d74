require('@segment/analytics-node');
