import '@segment/analytics-node';
